#!/usr/bin/env python3
"""Writes examples/fastmri/file_knee.h5: the two complex knee slices of ../shared/data/knee as a fastMRI single-coil
raw-data file (kspace (slices, ny, nx) complex64 = centred unitary FFT of each slice, an ismrmrd_header with the
matrix sizes, and the acquisition attribute), for examples/fastmri_knee.toml. Uses h5py (Debian python3-h5py).
Usage: python3 examples/make_fastmri_knee.py [DATA_DIR] (default: $RECONLAB_DATA, else ../shared/data)."""
import os
import pathlib
import sys

import h5py
import numpy as np

here = pathlib.Path(__file__).resolve().parent
data = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else os.environ.get("RECONLAB_DATA", here.parents[1] / "shared" / "data"))
images = np.load(data / "knee" / "knee_complex_2x320x256.npy")
kspace = np.fft.fftshift(np.fft.fft2(np.fft.ifftshift(images, axes=(-2, -1)), norm="ortho"), axes=(-2, -1))
ny, nx = images.shape[1:]
header = f"""<?xml version="1.0"?><ismrmrdHeader xmlns="http://www.ismrm.org/ISMRMRD">
<experimentalConditions><H1resonanceFrequency_Hz>63500000</H1resonanceFrequency_Hz></experimentalConditions><encoding>
<encodedSpace><matrixSize><x>{nx}</x><y>{ny}</y><z>1</z></matrixSize><fieldOfView_mm><x>1</x><y>1</y><z>1</z></fieldOfView_mm></encodedSpace>
<reconSpace><matrixSize><x>{nx}</x><y>{ny}</y><z>1</z></matrixSize><fieldOfView_mm><x>1</x><y>1</y><z>1</z></fieldOfView_mm></reconSpace>
<trajectory>cartesian</trajectory><encodingLimits></encodingLimits></encoding></ismrmrdHeader>"""
out = here / "fastmri"
out.mkdir(exist_ok=True)
tmp = out / ".file_knee.h5.tmp"
with h5py.File(tmp, "w") as f:
    f.create_dataset("kspace", data=kspace.astype(np.complex64))
    f.create_dataset("ismrmrd_header", data=header.encode())
    f.attrs["acquisition"] = "CORPD_FBK"
os.replace(tmp, out / "file_knee.h5")
print(out / "file_knee.h5")
