"""`reconlab study CONFIG.toml` end to end (ctest `study_toml`, pytest).

A tiny study on real data: one Colin27 slice (NIfTI, magnitude, smooth phase), one held-out Colin27 slice for the
weight search, and the two knee slices written by h5py as a fastMRI single-coil file. The zero-filled rows are checked
against a computation made here with NumPy and scikit-image from fastMRI's RandomMaskFunc rule (not reconlab's); CS-TV
must beat zero-filled on every case; a rerun must keep the table; bad files must fail with one clear line.
"""
import csv
import json
import os
import pathlib
import subprocess

import h5py
import numpy as np
import pytest
from skimage.metrics import peak_signal_noise_ratio

CLI = os.environ.get("RECONLAB_CLI", "reconlab")
SHARED = pathlib.Path(os.environ.get("RECONLAB_SHARED") or os.environ.get("RECONLAB_SHARED_DEFAULT")
                      or pathlib.Path(__file__).resolve().parents[3] / "shared")
COLIN27 = "/usr/share/mricron/templates/ch2.nii.gz"
SEED = 77

HEADER = """<?xml version="1.0"?><ismrmrdHeader xmlns="http://www.ismrm.org/ISMRMRD">
  <experimentalConditions><H1resonanceFrequency_Hz>63500000</H1resonanceFrequency_Hz></experimentalConditions><encoding>
  <encodedSpace><matrixSize><x>256</x><y>320</y><z>1</z></matrixSize>
  <fieldOfView_mm><x>1</x><y>1</y><z>1</z></fieldOfView_mm></encodedSpace>
  <reconSpace><matrixSize><x>256</x><y>320</y><z>1</z></matrixSize>
  <fieldOfView_mm><x>1</x><y>1</y><z>1</z></fieldOfView_mm></reconSpace>
  <trajectory>cartesian</trajectory><encodingLimits></encodingLimits></encoding></ismrmrdHeader>"""

CONFIG = f"""
[study]
name = "tiny"
description = "A test study."
seed = {SEED}

[[dataset]]
name = "colin27"
files = ["{COLIN27}"]
slices = [90]

[[dataset]]
name = "colin27-validation"
files = ["{COLIN27}"]
slices = [70]
role = "validation"

[[dataset]]
name = "knee-fastmri"
files = ["fastmri/*.h5"]
slices = [0, 1]

[sampling]
mask = "random"
accelerations = [4]
center_fraction = 0.08

[[method]]
name = "zero-filled"

[[method]]
name = "cs-tv"
lambda_grid = [0.002, 0.008]
iterations = 300
"""


def centred(f, x):
    return np.fft.fftshift(f(np.fft.ifftshift(x, axes=(-2, -1)), norm="ortho", axes=(-2, -1)), axes=(-2, -1))


def fastmri_random_mask(nx, center_fraction, acceleration, seed):
    """fastMRI subsample.py RandomMaskFunc for one column count (its documented rule, written from the paper)."""
    rng = np.random.RandomState(seed)
    num_low = int(round(nx * center_fraction))
    prob = (nx / acceleration - num_low) / (nx - num_low)
    mask = rng.uniform(size=nx) < prob
    pad = (nx - num_low + 1) // 2
    mask[pad:pad + num_low] = True
    return mask.astype(np.float32)


def run(*args, cwd=None):
    return subprocess.run([CLI, *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=1200)


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    root = tmp_path_factory.mktemp("study")
    (root / "fastmri").mkdir()
    images = np.load(SHARED / "data" / "knee" / "knee_complex_2x320x256.npy")
    kspace = centred(np.fft.fft2, images).astype(np.complex64)
    with h5py.File(root / "fastmri" / "file1000000.h5", "w") as f:
        f.create_dataset("kspace", data=kspace)
        f.create_dataset("ismrmrd_header", data=HEADER.encode())
        f.attrs["acquisition"] = "CORPD_FBK"
    (root / "tiny.toml").write_text(CONFIG)
    out = root / "out"
    r = run("study", root / "tiny.toml", "--out", out)
    assert r.returncode == 0, r.stdout + r.stderr
    return root, out, kspace


def rows(out):
    with open(out / "metrics.csv") as f:
        return list(csv.DictReader(f))


def test_every_case_and_method_has_a_row_and_cs_tv_beats_zero_filled(study):
    _, out, _ = study
    table = rows(out)
    cases = {(r["dataset"], r["case"]) for r in table}
    assert cases == {("colin27", "ch2_z90"), ("knee-fastmri", "file1000000_z0"), ("knee-fastmri", "file1000000_z1")}
    assert len(table) == 6
    psnr = {(r["dataset"], r["case"], r["method"]): float(r["psnr"]) for r in table}
    for dataset, case in cases:
        assert psnr[(dataset, case, "cs-tv")] > psnr[(dataset, case, "zero-filled")] + 0.3
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["study"] == "tiny" and "lambda_grid" in manifest["config"]["text"]
    summary = (out / "summary.md").read_text()
    assert "cs-tv" in summary and "zero-filled" in summary
    assert any(p.name.startswith("box_") for p in (out / "figures").iterdir())
    assert any(p.name.startswith("panel_") for p in (out / "figures").iterdir())


def test_zero_filled_rows_match_numpy_and_scikit_image(study):
    _, out, kspace = study
    table = {(r["case"], r["method"]): r for r in rows(out)}
    for s in (0, 1):
        # Images counted over the datasets in order: colin27 (0), its validation slice (1), knee slices (2, 3).
        i = 2 + s
        mask = fastmri_random_mask(kspace.shape[-1], 0.08, 4, SEED + 1000 * i)
        truth = np.abs(centred(np.fft.ifft2, kspace[s]))
        scale = truth.max()
        zero_filled = np.abs(centred(np.fft.ifft2, kspace[s] * mask[None, :])) / scale
        expected = peak_signal_noise_ratio(truth / scale, zero_filled, data_range=1.0)
        assert float(table[(f"file1000000_z{s}", "zero-filled")]["psnr"]) == pytest.approx(expected, abs=2e-3)


def test_a_rerun_keeps_the_table(study):
    root, out, _ = study
    before = (out / "metrics.csv").read_text()
    r = run("study", root / "tiny.toml", "--out", out)
    assert r.returncode == 0, r.stdout + r.stderr
    assert (out / "metrics.csv").read_text() == before


@pytest.mark.parametrize("text, message", [
    (CONFIG.replace("accelerations", "accelerationz"), "unknown key 'accelerationz'"),
    (CONFIG.replace('mask = "random"', 'mask = "spiral"'), "'mask' must be random"),
    (CONFIG.replace("[[method]]\nname = \"zero-filled\"", "[[method]]\nname = \"zero-filled\"\nlambda = \"big\""),
     "'lambda' must be a number"),
    (CONFIG.replace('files = ["fastmri/*.h5"]', 'files = ["nowhere/*.h5"]'), "no file matches"),
    (CONFIG + "\n[[method]\nname = 1\n", "bad.toml:36:"),
    (CONFIG.replace('name = "cs-tv"\nlambda_grid', 'name = "cs-tv"\nlambda = 0.1\nlambda_grid'), "not both"),
])
def test_bad_study_files_fail_with_one_clear_line(study, tmp_path, text, message):
    root, _, _ = study
    (root / "bad.toml").write_text(text)
    r = run("study", root / "bad.toml", "--out", tmp_path / "out")
    assert r.returncode == 1
    both = r.stdout + r.stderr
    errors = [line for line in both.splitlines() if "error" in line]
    assert len(errors) == 1 and message in errors[0], both


def coil_maps(ny, nx, coils=4):
    """Smooth complex coil maps (coils, ny, nx): Gaussian profiles centred on the four edges with a linear phase,
    normalised so that sum_c |S_c|^2 = 1 (the root-sum-of-squares of the coil images is then |x|)."""
    yy, xx = np.mgrid[0:ny, 0:nx]
    centres = [(0, nx / 2), (ny - 1, nx / 2), (ny / 2, 0), (ny / 2, nx - 1)][:coils]
    maps = np.stack([np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * (0.45 * max(ny, nx)) ** 2))
                     * np.exp(1j * (0.01 * c + 0.002 * (c + 1) * xx)) for c, (cy, cx) in enumerate(centres)])
    return (maps / np.sqrt((np.abs(maps) ** 2).sum(axis=0, keepdims=True))).astype(np.complex64)


def test_coil_maps_simulate_multicoil_k_space_and_cg_sense_beats_zero_filled(tmp_path):
    # The real knee slice (complex, its own phase) as an .npy image; 4 coils simulated with the maps.
    knee = np.load(SHARED / "data" / "knee" / "knee_complex_2x320x256.npy")[0]
    np.save(tmp_path / "knee.npy", knee.astype(np.complex64))
    np.save(tmp_path / "maps.npy", coil_maps(*knee.shape))
    config = f"""
[study]
name = "coils"
seed = 5

[[dataset]]
name = "known-maps"
files = ["knee.npy"]
coil_maps = "maps.npy"
maps_known = true

[[dataset]]
name = "estimated-maps"
files = ["knee.npy"]
coil_maps = "maps.npy"

[sampling]
mask = "equispaced"
accelerations = [3]
center_fraction = 0.08

[[method]]
name = "zero-filled"

[[method]]
name = "cg-sense"
iterations = 30
"""
    (tmp_path / "coils.toml").write_text(config)
    out = tmp_path / "out"
    r = run("study", tmp_path / "coils.toml", "--out", out, "--threads", 2)
    assert r.returncode == 0, r.stdout + r.stderr
    psnr = {(row["dataset"], row["method"]): float(row["psnr"]) for row in rows(out)}
    assert len(psnr) == 4
    # Exact maps: CG-SENSE unfolds R = 3 with 4 coils; zero-filled (RSS) keeps the aliasing.
    assert psnr[("known-maps", "cg-sense")] > psnr[("known-maps", "zero-filled")] + 3, psnr
    # Maps estimated from the ACS lines still beat zero-filled; the exact maps do at least as well.
    assert psnr[("estimated-maps", "cg-sense")] > psnr[("estimated-maps", "zero-filled")] + 1, psnr
    assert psnr[("known-maps", "cg-sense")] >= psnr[("estimated-maps", "cg-sense")] - 0.1, psnr
    print(psnr)
    # Maps of another size, and maps on k-space files, are clear errors.
    np.save(tmp_path / "small.npy", coil_maps(100, 80))
    (tmp_path / "bad.toml").write_text(config.replace('coil_maps = "maps.npy"\nmaps_known', 'coil_maps = "small.npy"\nmaps_known'))
    r = run("study", tmp_path / "bad.toml", "--out", tmp_path / "bad")
    assert r.returncode == 1 and "coil_maps are 100 x 80" in r.stdout + r.stderr, r.stdout + r.stderr


def test_a_stored_mask_is_used_for_every_image_at_its_own_acceleration(tmp_path):
    # The knee's own 2D variable-density mask (shared data) on both knee slices, as .npy complex images.
    mask_file = SHARED / "data" / "knee" / "smp_mask_320x256.npy"
    knees = np.load(SHARED / "data" / "knee" / "knee_complex_2x320x256.npy").astype(np.complex64)
    np.save(tmp_path / "knees.npy", knees)
    config = f"""
[study]
name = "stored"
seed = 3

[[dataset]]
name = "knee"
files = ["knees.npy"]

[sampling]
mask = "stored"
mask_file = "{mask_file}"

[[method]]
name = "zero-filled"
"""
    (tmp_path / "stored.toml").write_text(config)
    out = tmp_path / "out"
    r = run("study", tmp_path / "stored.toml", "--out", out)
    assert r.returncode == 0, r.stdout + r.stderr
    table = rows(out)
    assert len(table) == 2
    mask = np.load(mask_file).astype(np.float64)
    for row in table:
        assert float(row["acceleration"]) == pytest.approx(mask.size / mask.sum(), rel=1e-4)
        s = int(row["case"].rsplit("_z", 1)[1])
        truth = np.abs(knees[s]) / np.abs(knees[s]).max()
        zero_filled = np.abs(centred(np.fft.ifft2, centred(np.fft.fft2, knees[s] / np.abs(knees[s]).max()) * mask))
        expected = peak_signal_noise_ratio(truth, zero_filled, data_range=1.0)
        assert float(row["psnr"]) == pytest.approx(expected, abs=2e-3)
    # Keys of generated masks do not apply to a stored one; a mask of another size is a clear error.
    (tmp_path / "bad.toml").write_text(config.replace('mask = "stored"', 'mask = "stored"\naccelerations = [4]'))
    r = run("study", tmp_path / "bad.toml", "--out", tmp_path / "bad")
    assert r.returncode == 1 and "does not apply to mask" in r.stdout + r.stderr
    np.save(tmp_path / "small.npy", np.ones((100, 80), np.float32))
    (tmp_path / "bad2.toml").write_text(config.replace(str(mask_file), "small.npy"))
    r = run("study", tmp_path / "bad2.toml", "--out", tmp_path / "bad2")
    assert r.returncode == 1 and "100 x 80 (ny x nx)" in r.stdout + r.stderr, r.stdout + r.stderr
