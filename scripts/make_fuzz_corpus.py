#!/usr/bin/python3
"""Writes the fuzzing seed corpus tests/fuzz/corpus/<reader>/ (issue 12): small valid files of every format a
reconlab reader takes, made with NumPy, SciPy, h5py, zlib and struct (not with reconlab's own writers), so the
fuzzers start from inputs the readers accept. tests/io/fuzz_corpus_test.cpp checks that each is accepted.
The ISMRMRD seed is made by `ismrmrd_generate_cartesian_shepp_logan` (Debian ismrmrd-tools).

Usage: /usr/bin/python3 scripts/make_fuzz_corpus.py [OUT]   (default tests/fuzz/corpus)
"""
import os
import struct
import subprocess
import sys
import tempfile
import zlib

import h5py
import numpy as np
import scipy.io

out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "tests", "fuzz", "corpus")


def path(reader, name):
    d = os.path.join(out, reader)
    os.makedirs(d, exist_ok=True)
    return os.path.join(d, name)


rng = np.random.default_rng(0)

# .npy: complex64, float32, big-endian float64, Fortran-order int16, bool.
np.save(path("npy", "c8.npy"), (rng.standard_normal((3, 4)) + 1j * rng.standard_normal((3, 4))).astype(np.complex64))
np.save(path("npy", "f4.npy"), rng.standard_normal((2, 3, 4)).astype(np.float32))
np.save(path("npy", "f8_big.npy"), rng.standard_normal((5,)).astype(">f8"))
np.save(path("npy", "i2_fortran.npy"), np.asfortranarray(np.arange(12, dtype=np.int16).reshape(3, 4)))
np.save(path("npy", "bool.npy"), np.array([[True, False], [False, True]]))

# BART .hdr/.cfl as the cfl harness reads them: 2-byte little-endian .hdr length, the .hdr, the .cfl bytes.
for name, dims in (("2d", (4, 3)), ("coils", (3, 2, 1, 2))):
    hdr = ("# Dimensions\n" + " ".join(str(d) for d in dims) + " \n").encode()
    data = (rng.standard_normal(int(np.prod(dims))) + 1j * rng.standard_normal(int(np.prod(dims)))).astype(np.complex64)
    with open(path("cfl", name + ".bin"), "wb") as f:
        f.write(struct.pack("<H", len(hdr)) + hdr + data.tobytes())


# NIfTI-1 single file: 348-byte header, 4 extension bytes, float32 (or int16) data.
def nifti(p, arr, datatype, bitpix):
    dim = [arr.ndim] + list(arr.shape[::-1]) + [1] * (7 - arr.ndim)  # NIfTI i fastest: shape reversed from C order
    h = bytearray(348)
    struct.pack_into("<i", h, 0, 348)
    struct.pack_into("<8h", h, 40, *dim)
    struct.pack_into("<h", h, 70, datatype)
    struct.pack_into("<h", h, 72, bitpix)
    struct.pack_into("<8f", h, 76, 1, 1, 1, 1, 1, 1, 1, 1)
    struct.pack_into("<f", h, 108, 352.0)  # vox_offset
    struct.pack_into("<f", h, 112, 1.0)    # scl_slope
    struct.pack_into("<B", h, 123, 2)      # xyzt_units: mm
    h[344:348] = b"n+1\0"
    with open(p, "wb") as f:
        f.write(bytes(h) + b"\0\0\0\0" + arr.tobytes())


nifti(path("nifti", "f4_2d.nii"), rng.standard_normal((3, 4)).astype(np.float32), 16, 32)
nifti(path("nifti", "i2_3d.nii"), np.arange(24, dtype=np.int16).reshape(2, 3, 4), 4, 16)


# DICOM Part 10, explicit VR little endian, 16-bit MONOCHROME2.
def element(group, elem, vr, value):
    if vr in (b"OB", b"OW", b"UN", b"SQ", b"UT"):
        return struct.pack("<HH", group, elem) + vr + b"\0\0" + struct.pack("<I", len(value)) + value
    return struct.pack("<HH", group, elem) + vr + struct.pack("<H", len(value)) + value


def dicom(p, pixels):
    uid = b"1.2.840.10008.1.2.1\0"  # explicit VR little endian (even length)
    meta = element(0x0002, 0x0010, b"UI", uid)
    meta = element(0x0002, 0x0000, b"UL", struct.pack("<I", len(meta))) + meta
    rows, cols = pixels.shape
    body = (element(0x0008, 0x0060, b"CS", b"MR") + element(0x0020, 0x0013, b"IS", b"7 ") +
            element(0x0028, 0x0002, b"US", struct.pack("<H", 1)) +
            element(0x0028, 0x0004, b"CS", b"MONOCHROME2 ") +
            element(0x0028, 0x0010, b"US", struct.pack("<H", rows)) +
            element(0x0028, 0x0011, b"US", struct.pack("<H", cols)) +
            element(0x0028, 0x0030, b"DS", b"0.9\\0.8 ") +
            element(0x0028, 0x0100, b"US", struct.pack("<H", 16)) +
            element(0x0028, 0x0101, b"US", struct.pack("<H", 12)) +
            element(0x0028, 0x0102, b"US", struct.pack("<H", 11)) +
            element(0x0028, 0x0103, b"US", struct.pack("<H", 0)) +
            element(0x7FE0, 0x0010, b"OW", pixels.astype("<u2").tobytes()))
    with open(p, "wb") as f:
        f.write(b"\0" * 128 + b"DICM" + meta + body)


dicom(path("dicom", "mr_16bit.dcm"), np.arange(12, dtype=np.uint16).reshape(3, 4) * 300)


# PNG: 8-bit and 16-bit grey, and a 1-bit one.
def png(p, rows, bit_depth, w):
    def chunk(t, data):
        return struct.pack(">I", len(data)) + t + data + struct.pack(">I", zlib.crc32(t + data) & 0xFFFFFFFF)
    h = len(rows)
    raw = b"".join(b"\0" + bytes(r) for r in rows)
    ihdr = struct.pack(">IIBBBBB", w, h, bit_depth, 0, 0, 0, 0)
    with open(p, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


png(path("png", "grey8.png"), [[0, 50, 100, 150], [200, 250, 30, 60], [1, 2, 3, 4]], 8, 4)
png(path("png", "grey16.png"), [list(struct.pack(">4H", 0, 1000, 40000, 65535))] * 2, 16, 4)
png(path("png", "grey1.png"), [[0b10100101], [0b01011010]], 1, 8)

# MAT v5 (SciPy): a real double matrix, a complex single 3D array, an int16 array.
scipy.io.savemat(path("mat", "v5.mat"), {"a": rng.standard_normal((3, 4)),
                                         "c": (rng.standard_normal((2, 3, 2)) + 1j).astype(np.complex64),
                                         "m": np.arange(6, dtype=np.int16).reshape(2, 3)})
scipy.io.savemat(path("mat", "v4.mat"), {"x": rng.standard_normal((2, 5))}, format="4")

# fastMRI single-coil and multi-coil files (h5py), with header, attributes, reconstruction and mask.
header = """<?xml version="1.0" encoding="utf-8"?>
<ismrmrdHeader xmlns="http://www.ismrm.org/ISMRMRD">
<experimentalConditions><H1resonanceFrequency_Hz>63500000</H1resonanceFrequency_Hz></experimentalConditions>
<encoding><encodedSpace><matrixSize><x>8</x><y>6</y><z>1</z></matrixSize><fieldOfView_mm><x>80</x><y>60</y><z>5</z></fieldOfView_mm></encodedSpace>
<reconSpace><matrixSize><x>4</x><y>4</y><z>1</z></matrixSize><fieldOfView_mm><x>40</x><y>40</y><z>5</z></fieldOfView_mm></reconSpace>
<trajectory>cartesian</trajectory><encodingLimits></encodingLimits></encoding></ismrmrdHeader>"""
with h5py.File(path("fastmri", "single.h5"), "w") as f:
    f["kspace"] = (rng.standard_normal((2, 6, 8)) + 1j * rng.standard_normal((2, 6, 8))).astype(np.complex64)
    f["reconstruction_esc"] = rng.random((2, 4, 4)).astype(np.float32)
    f["ismrmrd_header"] = header
    f.attrs["acquisition"] = "CORPD_FBK"
    f.attrs["max"] = 0.5
    f.attrs["norm"] = 2.0
with h5py.File(path("fastmri", "multi_test.h5"), "w") as f:
    f["kspace"] = (rng.standard_normal((1, 2, 6, 8)) + 1j).astype(np.complex64)
    f["mask"] = np.array([0, 1, 1, 0, 1, 1, 0, 1], dtype=bool)
    f.attrs["acceleration"] = 2

# ISMRMRD raw data: an accelerated Shepp-Logan with ACS lines, 16 x 16, 2 coils.
with tempfile.TemporaryDirectory() as tmp:
    f = os.path.join(tmp, "sl.h5")
    subprocess.run(["ismrmrd_generate_cartesian_shepp_logan", "-m", "16", "-c", "2", "-a", "2", "-w", "4", "-o", f],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with open(f, "rb") as src, open(path("ismrmrd", "shepp_logan_r2_acs.h5"), "wb") as dst:
        dst.write(src.read())
