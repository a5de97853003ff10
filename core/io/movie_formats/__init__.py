"""Readers behind :func:`core.io.movies.open_movie` and :func:`core.io.sem_images.read_sem_image`.

One module per concern: ``errors`` (the exception types), ``tiff_layout`` (file-level checks
made before any pixel is read), ``tiff_metadata`` (pixel size, times and bit depth from OME,
Micro-Manager, ImageJ and TIFF tags), ``tiff_movie`` and ``avi_movie`` (frame sources) and
``luminance`` (RGB to gray).
"""
