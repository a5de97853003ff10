"""Trace files: header spellings, units, delimiters, error messages and atomic writes."""

from __future__ import annotations

import json
import os
import time

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from numpy.testing import assert_array_equal

from core.errors import TraceFileError
from core.io import traces as traces_module
from core.io.traces import read_trace, read_truth, truth_path, write_trace
from core.traces import Trace

FINITE = st.floats(allow_nan=False, allow_infinity=False, width=64)
HYPOTHESIS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _write(tmp_path, text: str, name: str = "trace.csv", encoding: str = "utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def _message(path) -> str:
    with pytest.raises(TraceFileError) as info:
        read_trace(path)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: ")
    return message.removeprefix(f"{path}: ")


def _same_bits(a: np.ndarray, b: np.ndarray) -> None:
    assert a.dtype == b.dtype == np.float64
    assert_array_equal(a.view(np.int64), b.view(np.int64))


# ---------------------------------------------------------------------------------------
# round trip
# ---------------------------------------------------------------------------------------


@st.composite
def traces(draw):
    n = draw(st.integers(1, 40))
    time_s = np.sort(draw(hnp.arrays(np.float64, n, elements=FINITE, unique=True)))
    potential = draw(hnp.arrays(np.float64, n, elements=FINITE))
    current = draw(hnp.arrays(np.float64, n, elements=FINITE))
    json_values = st.one_of(st.integers(-(2**53), 2**53), FINITE, st.text(max_size=20), st.none())
    metadata = draw(
        st.dictionaries(
            st.text(min_size=1, max_size=12),
            json_values,
            max_size=4,
        )
    )
    return Trace(time_s, potential, current, metadata)


@HYPOTHESIS
@given(trace=traces())
def test_write_then_read_returns_the_same_float_bits_and_metadata(tmp_path, trace):
    path = write_trace(tmp_path / "t.csv", trace)
    back = read_trace(path)
    _same_bits(back.time_s, trace.time_s)
    _same_bits(back.potential_V, trace.potential_V)
    _same_bits(back.current_A, trace.current_A)
    for key, value in trace.metadata.items():
        if key.isprintable() and ":" not in key and key == key.strip():
            assert back.metadata[key] == value
        elif key not in ("source_path", "source_columns"):
            assert key not in back.metadata  # cannot be written as a '# key: value' line
    assert back.metadata["source_path"] == str(path)


def test_written_file_is_the_canonical_csv(tmp_path):
    trace = Trace(
        np.array([0.0, 0.00257]), np.array([0.1, -0.25]), np.array([-1e-9, 5e-324]), {"seed": 3}
    )
    path = write_trace(tmp_path / "t.csv", trace)
    assert path.read_text() == (
        "# seed: 3\ntime_s,potential_V,current_A\n0.0,0.1,-1e-09\n0.00257,-0.25,5e-324\n"
    )


# ---------------------------------------------------------------------------------------
# header spellings and units
# ---------------------------------------------------------------------------------------

TIME_NAMES = ["time", "Time", "t", "elapsed time", "Test_Time"]
POTENTIAL_NAMES = ["potential", "Potential", "E", "Ewe", "WE(1).Potential", "<Ewe>", "Voltage"]
CURRENT_NAMES = ["current", "Current", "I", "<I>", "WE(1).Current"]
TIME_UNITS = {"s": (1, 1), "sec": (1, 1), "ms": (1, 1000), "min": (60, 1), "us": (1, 10**6)}
POTENTIAL_UNITS = {"V": (1, 1), "mV": (1, 1000), "µV": (1, 10**6), "uV": (1, 10**6)}
CURRENT_UNITS = {
    "A": (1, 1),
    "mA": (1, 10**3),
    "µA": (1, 10**6),
    "μA": (1, 10**6),  # Greek mu, as some software writes it
    "uA": (1, 10**6),
    "nA": (1, 10**9),
    "pA": (1, 10**12),
}
STYLES = ["{n}_{u}", "{n}/{u}", "{n} ({u})", "{n}({u})", "{n} [{u}]"]
EXTRA_COLUMNS = ["Index", "control/V/mA", "Potential applied (V)", "I Range", "cycle number"]


@st.composite
def header_cells(draw, names, units):
    name = draw(st.sampled_from(names))
    unit = draw(st.sampled_from(sorted(units)))
    style = draw(st.sampled_from(STYLES))
    if style.startswith("{n}_") and " " in name:
        name = name.replace(" ", "_")
    return style.format(n=name, u=unit), units[unit]


def _scaled(values: np.ndarray, factor: tuple[int, int]) -> np.ndarray:
    numerator, denominator = factor
    out = values / denominator if denominator != 1 else values.copy()
    return out * numerator if numerator != 1 else out


@HYPOTHESIS
@given(
    data=st.data(),
    delimiter=st.sampled_from([",", ";", "\t"]),
    n=st.integers(1, 12),
)
def test_header_spellings_and_units_scale_values_exactly(tmp_path, data, delimiter, n):
    time_header, time_factor = data.draw(header_cells(TIME_NAMES, TIME_UNITS))
    e_header, e_factor = data.draw(header_cells(POTENTIAL_NAMES, POTENTIAL_UNITS))
    i_header, i_factor = data.draw(header_cells(CURRENT_NAMES, CURRENT_UNITS))
    extras = data.draw(st.lists(st.sampled_from(EXTRA_COLUMNS), max_size=2, unique=True))
    headers = [time_header, e_header, i_header, *extras]
    order = data.draw(st.permutations(range(len(headers))))

    small = st.floats(-1e6, 1e6, allow_nan=False)
    time_raw = np.sort(data.draw(hnp.arrays(np.float64, n, elements=small, unique=True)))
    e_raw = data.draw(hnp.arrays(np.float64, n, elements=small))
    i_raw = data.draw(hnp.arrays(np.float64, n, elements=small))
    assume(np.all(np.diff(_scaled(time_raw, time_factor)) > 0))  # not 5e-324 ms → 0 s
    columns = [time_raw, e_raw, i_raw, *[np.arange(n, dtype=float)] * len(extras)]
    lines = [delimiter.join(headers[k] for k in order)]
    lines += [delimiter.join(repr(float(columns[k][row])) for k in order) for row in range(n)]
    path = _write(tmp_path, "\n".join(lines) + "\n")

    trace = read_trace(path)
    _same_bits(trace.time_s, _scaled(time_raw, time_factor))
    _same_bits(trace.potential_V, _scaled(e_raw, e_factor))
    _same_bits(trace.current_A, _scaled(i_raw, i_factor))
    assert trace.metadata["source_columns"] == {
        "time_s": time_header,
        "potential_V": e_header,
        "current_A": i_header,
    }


@pytest.mark.parametrize(
    ("header", "row", "expected"),
    [
        ("time_s,potential_V,current_A", "1,2,3", (1, 2, 3)),
        ("Time (s),E (V),I (µA)", "1,2,3", (1, 2, 3e-6)),
        ("t/ms,Potential/mV,current_nA", "1,2,3", (1e-3, 2e-3, 3e-9)),
        ("time/s\tEwe/V\t<I>/mA\tcontrol/V/mA", "1\t2\t3\t4", (1, 2, 3e-3)),
        ("Time (s);WE(1).Potential (V);WE(1).Current (A)", "1;2;3", (1, 2, 3)),
        ("Time [min],E (V vs. Li/Li+),I/pA", "1,2,3", (60, 2, 3e-12)),
        ("TIME_S,POTENTIAL_V,CURRENT_A", "1,2,3", (1, 2, 3)),
        ('"time_s","potential_V","current_A"', '"1","2","3"', (1, 2, 3)),
        (" time_s , potential_V , current_A ", " 1 , 2 , 3 ", (1, 2, 3)),
    ],
)
def test_instrument_headers(tmp_path, header, row, expected):
    trace = read_trace(_write(tmp_path, f"{header}\n{row}\n"))
    np.testing.assert_allclose(
        [trace.time_s[0], trace.potential_V[0], trace.current_A[0]], expected, rtol=1e-15
    )


def test_measured_potential_is_preferred_over_other_candidates(tmp_path):
    # NOVA writes the set-point as 'Potential applied'; EC-Lab may carry both Ewe and <Ewe>.
    text = "Potential applied (V),Time (s),<Ewe>/V,Ewe/V,I/mA,<I>/mA\n9,0,8,0.5,1,7\n"
    trace = read_trace(_write(tmp_path, text))
    assert trace.potential_V[0] == 0.5
    assert trace.current_A[0] == 1e-3


def test_unitless_duplicate_is_ignored_when_another_column_gives_the_quantity(tmp_path):
    trace = read_trace(_write(tmp_path, "time_s,E,Ewe/mV,current_A\n0,x,500,1\n"))
    assert trace.potential_V[0] == 0.5


def test_a_tie_between_lesser_candidates_does_not_matter_when_a_better_one_exists(tmp_path):
    text = "E (V),Ewe/V,E/V,potential_V,time_s,current_A\n1,2,3,4,0,0\n"
    assert read_trace(_write(tmp_path, text)).potential_V[0] == 4.0
    tied = _write(tmp_path, "E (V),Ewe/V,E/mV,time_s,current_A\n1,2,3,0,0\n")
    assert _message(tied) == "two potential columns: column 1 'E (V)' and column 3 'E/mV'; keep one"


def test_decimal_commas_with_semicolon_and_tab_delimiters(tmp_path):
    semicolon = read_trace(_write(tmp_path, "time_s;potential_V;current_A\n0,5;-0,25;1,5E-9\n"))
    tab = read_trace(_write(tmp_path, "time_s\tpotential_V\tcurrent_A\n0,5\t-0,25\t1,5E-9\n"))
    for trace in (semicolon, tab):
        assert (trace.time_s[0], trace.potential_V[0], trace.current_A[0]) == (0.5, -0.25, 1.5e-9)


def test_comments_metadata_blank_lines_bom_and_crlf(tmp_path):
    text = (
        "\ufeff# instrument: Autolab PGSTAT\r\n# seed: 7\r\n# note without colon\r\n"
        '# physics: {"j": 0.78}\r\n\r\ntime_s,potential_V,current_A\r\n0,1,2\r\n\r\n'
        "# interruption\r\n1,3,4\r\n\r\n"
    )
    trace = read_trace(_write(tmp_path, text))
    assert_array_equal(trace.time_s, [0.0, 1.0])
    assert trace.metadata["instrument"] == "Autolab PGSTAT"
    assert trace.metadata["seed"] == 7
    assert trace.metadata["physics"] == {"j": 0.78}


def test_windows_1252_micro_sign_and_utf16(tmp_path):
    latin = read_trace(_write(tmp_path, "t (s),E (V),I (µA)\n0,1,2\n", encoding="cp1252"))
    assert latin.current_A[0] == 2e-6
    utf16 = read_trace(_write(tmp_path, "t (s)\tE (V)\tI (µA)\n0\t1\t2\n", encoding="utf-16"))
    assert utf16.current_A[0] == 2e-6


def test_numpy_savetxt_layout_reads_the_header_from_the_last_comment(tmp_path):
    path = tmp_path / "saved.csv"
    np.savetxt(path, [[0, 1, 2], [1, 3, 4]], delimiter=",", header="time_s,potential_V,current_A")
    trace = read_trace(path)
    assert_array_equal(trace.potential_V, [1.0, 3.0])


def test_eclab_mpt_export(tmp_path):
    text = (
        "EC-Lab ASCII FILE\nNb header lines : 5\n\nChronopotentiometry\n"
        "mode\ttime/s\tcontrol/mA\tEwe/V\tI/mA\tcycle number\t\n"
        "2\t0,000\t-0,001\t1,0\t-0,001\t0\t\n2\t0,1\t-0,001\t0,9\t-0,001\t0\t\n"
    )
    trace = read_trace(_write(tmp_path, text, name="run.mpt", encoding="cp1252"))
    assert_array_equal(trace.time_s, [0.0, 0.1])
    assert_array_equal(trace.potential_V, [1.0, 0.9])
    assert_array_equal(trace.current_A, [-1e-6, -1e-6])


def test_current_optional_only_when_asked(tmp_path):
    path = _write(tmp_path, "time_s,potential_V\n0,1\n1,2\n")
    trace = read_trace(path, require_current=False)
    assert np.isnan(trace.current_A).all() and len(trace) == 2
    assert _message(path).startswith("no current column; found columns 'time_s', 'potential_V'")
    # A potential-only trace writes back without a current column and reads the same.
    back = read_trace(write_trace(tmp_path / "back.csv", trace), require_current=False)
    assert_array_equal(back.potential_V, [1.0, 2.0])


# ---------------------------------------------------------------------------------------
# errors: one line, naming the file and the problem
# ---------------------------------------------------------------------------------------

ACCEPTED_TIME = "time: time_s, Time (s), time/s, t/ms"
ACCEPTED_E = "potential: potential_V, E (V), Ewe/V, Potential/mV, WE(1).Potential (V)"
ACCEPTED_I = "current: current_A, I (µA), <I>/mA, current_nA, WE(1).Current (A)"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "empty file"),
        ("\n  \n", "empty file"),
        ("# a: 1\n# only comments\n", "only comment lines: no header row and no data"),
        ("time_s,potential_V,current_A\n", "header row but no data rows"),
        (
            "time_s,potential_V,current_A\n0,1,2\n1,oops,3\n",
            "line 3, column 'potential_V': 'oops' is not a number",
        ),
        (
            "# c\ntime_s;potential_V;current_A\n0;1;2\n\n1;2;\n",
            "line 5, column 'current_A': empty cell",
        ),
        (
            "time_s,potential_V,current_A\n0,1,2\n1,,3\n",
            "line 3, column 'potential_V': empty cell",
        ),
        (
            "time_s,potential_V,current_A\n0,1,2\n1,2\n2,3\n",
            "ragged rows: line 3 has 2 fields but the header has 3 (2 rows differ)",
        ),
        (
            "time_s,potential_V,current_A\n0,1,2\n1,2,3,4\n",
            "ragged rows: line 3 has 4 fields but the header has 3",
        ),
        (
            "t/ms,E (V),I (A)\n0,1,2\n5,1,2\n5,1,2\n",
            "time does not strictly increase: column 't/ms' goes from 5 (line 3) to 5 (line 4) "
            "(= 0.005 s and 0.005 s)",
        ),
        (
            "time_s,E (V),I (A)\n0,1,2\n5,1,2\n4.5,1,2\n",
            "time does not strictly increase: column 'time_s' goes from 5 (line 3) to 4.5 (line 4)",
        ),
        (
            "time_s,potential_V,current_A\n0,1,2\n1,NaN,3\n",
            "line 3, column 'potential_V': 'NaN' is not a finite number",
        ),
        (
            "time_s,potential_V,current_A\n0,1,-inf\n",
            "line 2, column 'current_A': '-inf' is not a finite number",
        ),
        (
            "time_s,potential_V,current (amps)\n0,1,2\n",
            "column 3 'current (amps)': unknown current unit 'amps'; accepted units: "
            "A, mA, µA/uA, nA, pA",
        ),
        (
            "time_s,potential_V,I (kA)\n0,1,2\n",
            "column 3 'I (kA)': unknown current unit 'kA'; accepted units: A, mA, µA/uA, nA, pA",
        ),
        (
            "time,potential_V,current_A\n0,1,2\n",
            "column 1 'time' gives no unit for time; name it with one, e.g. time_s "
            "(units: s, sec, ms, µs/us, min, h)",
        ),
        (
            "seconds,volts,amps\n0,1,2\n",
            "no time, potential or current column; found columns 'seconds', 'volts', 'amps'; "
            f"accepted e.g. {ACCEPTED_TIME}; {ACCEPTED_E}; {ACCEPTED_I}",
        ),
        (
            "Time (s),Current (A)\n0,1\n",
            f"no potential column; found columns 'Time (s)', 'Current (A)'; accepted e.g. "
            f"{ACCEPTED_E}",
        ),
        (
            "time_s,Time (s),potential_V,current_A\n0,0,1,2\n",
            "two time columns: column 1 'time_s' and column 2 'Time (s)'; keep one",
        ),
        (
            "0,1,2\n1,2,3\n",
            "no header row: line 1 holds numbers ('0,1,2'); the first line that is not a '#' "
            "comment must name the columns, e.g. time_s,potential_V,current_A",
        ),
    ],
)
def test_error_messages(tmp_path, text, problem):
    assert _message(_write(tmp_path, text)) == problem


def test_file_system_errors(tmp_path):
    assert _message(tmp_path / "missing.csv") == "file not found"
    assert _message(tmp_path) == "is a folder, not a trace file"
    binary = tmp_path / "frame.tif"
    binary.write_bytes(b"II*\x00" + bytes(range(256)))
    assert _message(binary) == "binary file (NUL bytes), not a delimited text table"
    mpr = tmp_path / "run.mpr"
    mpr.write_bytes(b"BIO-LOGIC MODULAR FILE\x1a" + b"\x00" * 64)
    assert _message(mpr) == (
        "binary EC-Lab .mpr file; export it as text (.mpt) in EC-Lab and read that"
    )


@pytest.mark.parametrize(
    ("error", "problem"),
    [
        (PermissionError(13, "Permission denied"), "cannot read the file: permission denied"),
        (OSError(5, "Input/output error"), "cannot read the file: Input/output error"),
    ],
)
def test_unreadable_file(tmp_path, monkeypatch, error, problem):
    # chmod 0 does not stop root (CI containers), so the refusal is simulated.
    path = _write(tmp_path, "time_s,potential_V,current_A\n0,1,2\n")

    def refuse(self):
        raise error

    monkeypatch.setattr(traces_module.Path, "read_bytes", refuse)
    assert _message(path) == problem


@HYPOTHESIS
@given(
    garbage=st.text(
        alphabet=st.characters(codec="utf-8", exclude_characters="\r\n,"), min_size=0, max_size=12
    ),
    row=st.integers(0, 4),
    column=st.integers(0, 2),
)
def test_any_garbage_cell_gives_a_trace_file_error_or_a_number(tmp_path, garbage, row, column):
    cells = [[repr(float(r)), "0.5", "-1e-9"] for r in range(5)]
    cells[row][column] = garbage
    text = "time_s,potential_V,current_A\n" + "\n".join(",".join(r) for r in cells) + "\n"
    path = _write(tmp_path, text)
    try:
        trace = read_trace(path)
    except TraceFileError as exc:
        assert "\n" not in str(exc) and str(exc).startswith(str(path))
    else:
        assert np.isfinite(trace.potential_V).all() and np.all(np.diff(trace.time_s) > 0)


@HYPOTHESIS
@given(content=st.binary(max_size=200))
def test_arbitrary_bytes_never_raise_anything_but_trace_file_error(tmp_path, content):
    path = tmp_path / "random.csv"
    path.write_bytes(b"time_s,potential_V,current_A\n" + content)
    try:
        read_trace(path)
    except TraceFileError as exc:
        assert "\n" not in str(exc)


def test_reads_100k_rows_quickly(tmp_path):
    n = 100_000
    rng = np.random.default_rng(1)
    trace = Trace(np.arange(n) * 2.57e-3, rng.normal(size=n), rng.normal(size=n) * 1e-9)
    path = write_trace(tmp_path / "big.csv", trace)
    started = time.perf_counter()
    back = read_trace(path)
    elapsed = time.perf_counter() - started
    _same_bits(back.potential_V, trace.potential_V)
    # about 0.3 s on the shared 2-core dev machine; a per-row Python parser takes several s
    assert elapsed < 2.0


# ---------------------------------------------------------------------------------------
# writing: validation, truth sidecar, atomicity
# ---------------------------------------------------------------------------------------


def _trace(n: int = 3) -> Trace:
    return Trace(np.arange(n, dtype=float), np.full(n, 0.1), np.full(n, -1e-9))


def test_truth_sidecar_written_read_and_removed_with_the_next_plain_write(tmp_path):
    path = tmp_path / "spot.csv"
    truth = {"e_nuc_V": np.float64(-0.135), "seed": np.int64(3), "n": np.arange(2), "x": None}
    write_trace(path, _trace(), truth=truth)
    assert truth_path(path) == tmp_path / "spot.csv.truth.json"
    assert read_truth(path) == {"e_nuc_V": -0.135, "seed": 3, "n": [0, 1], "x": None}
    write_trace(path, _trace())
    assert not truth_path(path).exists()
    assert read_truth(path) is None


def test_write_refuses_what_read_would_refuse(tmp_path):
    path = tmp_path / "bad.csv"
    nan = Trace(np.array([0.0, 1.0]), np.array([0.1, np.nan]), np.zeros(2))
    backwards = Trace(np.array([0.0, 2.0, 1.0]), np.zeros(3), np.zeros(3))
    cases = [
        (nan, "cannot write: potential_V[1] is nan, not finite"),
        (backwards, "cannot write: time does not strictly increase at sample 2 (2.0 s then 1.0 s)"),
        (Trace(np.zeros(0), np.zeros(0), np.zeros(0)), "cannot write an empty trace (no samples)"),
    ]
    for trace, problem in cases:
        with pytest.raises(TraceFileError) as info:
            write_trace(path, trace)
        assert info.value.problem == problem
    with pytest.raises(TraceFileError) as info:
        write_trace(path, _trace(), truth={"e_nuc_V": float("nan")})
    assert info.value.path == str(tmp_path / "bad.csv.truth.json")
    assert info.value.problem == (
        "cannot write the truth as JSON: Out of range float values are not JSON compliant: nan"
    )
    with pytest.raises(TraceFileError) as info:
        write_trace(tmp_path / "nowhere" / "x.csv", _trace())
    assert (
        info.value.problem == f"cannot write: folder {str(tmp_path / 'nowhere')!r} does not exist"
    )
    with pytest.raises(TraceFileError) as info:
        write_trace(tmp_path, _trace())
    assert info.value.problem == "is a folder; give a file name to write the trace to"
    assert sorted(os.listdir(tmp_path)) == []


def test_failed_write_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    path = write_trace(tmp_path / "spot.csv", _trace(2), truth={"v": 1})
    before = path.read_bytes()

    def broken_replace(source, target):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(traces_module.os, "replace", broken_replace)
    with pytest.raises(TraceFileError) as info:
        write_trace(path, _trace(5), truth={"v": 2})
    assert info.value.problem == "cannot write: No space left on device"
    assert path.read_bytes() == before
    assert json.loads(truth_path(path).read_text()) == {"v": 1}
    assert sorted(os.listdir(tmp_path)) == ["spot.csv", "spot.csv.truth.json"]


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_written_file_follows_the_umask_not_private_temp_permissions(tmp_path):
    old = os.umask(0o022)
    try:
        path = write_trace(tmp_path / "spot.csv", _trace())
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o644
