"""Instrument protocols and backends (sim, nifpga, camera, stage). Never imported by pages."""
