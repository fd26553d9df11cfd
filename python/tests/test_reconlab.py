"""pytest suite of the Python module (`import reconlab`), run by ctest as `python_module`.

Every expected value comes from outside reconlab: NumPy's FFT, scikit-image's metrics, fastMRI's masks and
zero-filled image in ../shared/reference, files written by h5py, identities (adjoint, normal) checked numerically, and
properties (a regularised solver beats zero-filled on a real knee; the answer scales with the data).
"""
import os
import pathlib

import h5py
import numpy as np
import pytest
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

import reconlab

# RECONLAB_SHARED overrides, as for the C++ tests; ctest passes the build's default as RECONLAB_SHARED_DEFAULT.
SHARED = pathlib.Path(os.environ.get("RECONLAB_SHARED") or os.environ.get("RECONLAB_SHARED_DEFAULT")
                      or pathlib.Path(__file__).resolve().parents[3] / "shared")
REFERENCE = SHARED / "reference"
DATA = SHARED / "data"


def centred_fft(x):
    return np.fft.fftshift(np.fft.fft2(np.fft.ifftshift(x, axes=(-2, -1)), norm="ortho"), axes=(-2, -1))


def random_complex(rng, shape):
    return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(np.complex64)


def knee():
    """The reference knee slice: its k-space at R = 4 (column mask broadcast to (ny, nx)) and the magnitude truth."""
    kspace = np.load(REFERENCE / "knee0_kspace_r4.npy")
    columns = np.load(REFERENCE / "knee0_mask_r4.npy")
    mask = np.broadcast_to(columns[None, :], kspace.shape).astype(np.float32)
    return kspace, mask, np.load(REFERENCE / "knee0_gt.npy")


@pytest.mark.parametrize("shape", [(64, 48), (33, 27), (3, 40, 31)])
def test_fft2c_matches_numpy(shape):
    x = random_complex(np.random.default_rng(1), shape)
    k = reconlab.fft2c(x)
    assert k.shape == x.shape and k.dtype == np.complex64
    np.testing.assert_allclose(k, centred_fft(x), rtol=0, atol=2e-5 * np.abs(x).max() * np.sqrt(x[..., :, :].size))
    np.testing.assert_allclose(reconlab.ifft2c(k), x, rtol=0, atol=1e-5 * np.abs(x).max())


def test_sense_operator_is_m_f_s_and_its_adjoint_passes_the_dot_test():
    rng = np.random.default_rng(2)
    ny, nx, coils = 24, 20, 3
    sens = random_complex(rng, (coils, ny, nx))
    mask = (rng.random((ny, nx)) < 0.4).astype(np.float32)
    A = reconlab.forward_model(mask, sens=sens)
    assert A.domain_shape == [ny, nx] and A.range_shape == [coils, ny, nx]
    x = random_complex(rng, (ny, nx))
    y = random_complex(rng, (coils, ny, nx))
    np.testing.assert_allclose(A.apply(x), mask * centred_fft(sens * x), atol=1e-4)
    lhs = np.vdot(y, A.apply(x))  # <A x, y> = <x, A^H y>
    rhs = np.vdot(A.adjoint(y), x)
    assert abs(lhs - rhs) < 1e-4 * abs(lhs)
    np.testing.assert_allclose(A.normal(x), A.adjoint(A.apply(x)), atol=1e-4)


def test_masks_reproduce_fastmri_bit_for_bit():
    for name, kind in [("RandomMaskFunc", "random"), ("EquiSpacedMaskFunc", "equispaced"),
                       ("EquispacedMaskFractionFunc", "equispaced-fraction")]:
        for seed in (0, 1, 42):
            expected = np.load(REFERENCE / f"fastmri_{name}_c256_s{seed}.npy")
            mask, description = reconlab.mask(kind, (320, 256), acceleration=4, center_fraction=0.08, seed=seed)
            assert mask.shape == (320, 256) and mask.dtype == np.float32
            np.testing.assert_array_equal(mask[0], expected.astype(np.float32), err_msg=f"{kind} seed {seed}")
            assert (mask == mask[0]).all() and str(seed) in description


def test_kt_mask_has_a_pattern_per_frame():
    mask, _ = reconlab.mask("kt-vd", (64, 96), acceleration=4, seed=3, frames=5, center_lines=8)
    assert mask.shape == (5, 1, 64, 96)
    assert not (mask[0] == mask[1]).all()


def test_metrics_match_scikit_image_on_the_real_knee():
    kspace, mask, truth = knee()
    zero_filled = np.abs(reconlab.reconstruct(kspace, "zero-filled", mask=mask))
    m = reconlab.metrics(truth, zero_filled)
    r = float(truth.max())
    assert m["psnr"] == pytest.approx(peak_signal_noise_ratio(truth, zero_filled, data_range=r), rel=1e-4)
    assert m["ssim"] == pytest.approx(structural_similarity(truth, zero_filled, win_size=7, data_range=r), rel=1e-4)
    assert m["nmse"] == pytest.approx(np.sum((truth - zero_filled) ** 2) / np.sum(truth ** 2), rel=1e-4)


def test_zero_filled_matches_the_reference_and_cs_tv_beats_it_at_any_scale():
    kspace, mask, truth = knee()
    zero_filled = reconlab.reconstruct(kspace, "zero-filled", mask=mask)
    np.testing.assert_allclose(np.abs(zero_filled), np.load(REFERENCE / "knee0_zero_filled_r4.npy"),
                               rtol=0, atol=1e-4 * truth.max())
    cs = reconlab.reconstruct(kspace, "cs-tv", mask=mask)
    assert reconlab.metrics(truth, cs)["psnr"] > reconlab.metrics(truth, zero_filled)["psnr"] + 0.5
    # Scanner units of 1e-6 and 1e4: the solution scales with the data (lambda is relative to the zero-filled max).
    for scale in (1e-6, 1e4):
        scaled = reconlab.reconstruct(kspace * np.float32(scale), "cs-tv", mask=mask)
        assert np.linalg.norm(scaled / scale - cs) <= 1e-3 * np.linalg.norm(cs)


def test_cg_sense_on_a_multicoil_fastmri_file_of_the_real_8_coil_brain_beats_zero_filled(tmp_path):
    # brain_clean.cfl stores its 8 coils in BART dim 2: read the raw column-major bytes with NumPy.
    dims = [int(v) for v in (DATA / "brain8ch" / "brain_clean.hdr").read_text().splitlines()[1].split()]
    raw = np.fromfile(DATA / "brain8ch" / "brain_clean.cfl", np.complex64)
    kspace = raw.reshape(dims[:3], order="F").transpose(2, 1, 0).copy()  # (coils, ny, nx)
    assert kspace.shape == (8, 180, 230)
    ny, nx = kspace.shape[1:]
    mask, _ = reconlab.mask("equispaced", (ny, nx), acceleration=3, center_fraction=0.12, seed=0)
    truth = np.sqrt((np.abs(np.fft.fftshift(np.fft.ifft2(np.fft.ifftshift(kspace, axes=(-2, -1)), norm="ortho"),
                                            axes=(-2, -1))) ** 2).sum(0))
    # A multi-coil fastMRI test file (kspace (slices, coils, H, W), its column mask) written by h5py, read back.
    path = tmp_path / "file_brain_AXT1_201_6002688.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("kspace", data=(kspace * mask)[None].astype(np.complex64))
        f.create_dataset("mask", data=mask[0])
        f.attrs["acquisition"] = "AXT1"
    data = reconlab.read_fastmri(str(path))
    assert data["kspace"].shape == (1, 8, ny, nx)
    zero_filled = reconlab.reconstruct(data["kspace"][0], "zero-filled", mask=data["mask"])
    sense = reconlab.reconstruct(data["kspace"][0], "cg-sense", mask=data["mask"])
    assert sense.shape == (ny, nx)
    # CG-SENSE's image carries the maps' phase and normalisation: compare magnitudes scaled to the truth's energy.
    def scaled(img):
        a = np.abs(img)
        return a * (np.vdot(a, truth).real / np.vdot(a, a).real)
    psnr_zf = peak_signal_noise_ratio(truth, scaled(zero_filled), data_range=truth.max())
    psnr_sense = peak_signal_noise_ratio(truth, scaled(sense), data_range=truth.max())
    assert psnr_sense > psnr_zf + 2.0, (psnr_sense, psnr_zf)


def test_fastmri_file_written_by_h5py_reconstructs(tmp_path):
    kspace, mask, truth = knee()
    full = centred_fft(np.load(DATA / "knee" / "knee_complex_2x320x256.npy"))  # two slices, fully sampled
    header = """<?xml version="1.0"?><ismrmrdHeader xmlns="http://www.ismrm.org/ISMRMRD">
  <experimentalConditions><H1resonanceFrequency_Hz>63500000</H1resonanceFrequency_Hz></experimentalConditions><encoding>
      <encodedSpace><matrixSize><x>256</x><y>320</y><z>1</z></matrixSize>
      <fieldOfView_mm><x>1</x><y>1</y><z>1</z></fieldOfView_mm></encodedSpace>
      <reconSpace><matrixSize><x>240</x><y>240</y><z>1</z></matrixSize>
      <fieldOfView_mm><x>1</x><y>1</y><z>1</z></fieldOfView_mm></reconSpace>
      <trajectory>cartesian</trajectory><encodingLimits></encodingLimits></encoding></ismrmrdHeader>"""
    path = tmp_path / "file1000001.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("kspace", data=(full * mask).astype(np.complex64))
        f.create_dataset("mask", data=mask[0].astype(np.float32))
        f.create_dataset("ismrmrd_header", data=header.encode())
        f.attrs["acquisition"] = "CORPD_FBK"
        f.attrs["max"] = 1.0
    data = reconlab.read_fastmri(str(path))
    assert data["kspace"].shape == (2, 1, 320, 256)
    assert data["recon_size"] == (240, 240) and data["encoded_size"] == (320, 256)
    assert data["attrs"]["acquisition"] == "CORPD_FBK" and data["attrs"]["max"] == 1.0
    np.testing.assert_array_equal(data["mask"], mask)
    np.testing.assert_allclose(data["kspace"][1, 0], full[1] * mask, rtol=1e-6, atol=0)
    image = reconlab.reconstruct(data["kspace"][0, 0], "zero-filled", mask=data["mask"])
    expected = np.fft.fftshift(np.fft.ifft2(np.fft.ifftshift(full[0] * mask), norm="ortho"))
    np.testing.assert_allclose(image, expected, atol=1e-4 * np.abs(expected).max())


def test_nifti_output_opens_with_the_image_values(tmp_path):
    _, _, truth = knee()
    path = tmp_path / "knee.nii.gz"
    reconlab.write_nifti(str(path), truth)
    back = reconlab.read_image(str(path))
    np.testing.assert_allclose(np.abs(back), truth, rtol=1e-6)


def test_bad_input_raises_reconlab_errors(tmp_path):
    kspace, mask, _ = knee()
    with pytest.raises(reconlab.Error, match="unknown method|not a classical|nope"):
        reconlab.reconstruct(kspace, "nope", mask=mask)
    with pytest.raises(reconlab.Error, match="mask"):
        reconlab.reconstruct(kspace, "zero-filled", mask=mask[:, :100])
    with pytest.raises(ValueError, match="mask kind"):
        reconlab.mask("spiral", (32, 32), acceleration=2)
    with pytest.raises(reconlab.Error, match="lambda-t"):
        reconlab.reconstruct(kspace, "zero-filled", mask=mask, lambda_t=0.1)
    with pytest.raises(reconlab.Error, match="2 to 5 axes"):
        reconlab.fft2c(np.zeros(8, np.complex64))
    truncated = tmp_path / "truncated.npy"
    np.save(truncated, np.zeros((64, 64), np.complex64))
    truncated.write_bytes(truncated.read_bytes()[:200])
    with pytest.raises(reconlab.Error, match="truncated|size|bytes"):
        reconlab.read_array(str(truncated))
    not_hdf5 = tmp_path / "file.h5"
    not_hdf5.write_bytes(b"not an HDF5 file")
    with pytest.raises(reconlab.Error):
        reconlab.read_fastmri(str(not_hdf5))
    A = reconlab.forward_model(mask)
    with pytest.raises(reconlab.Error, match="operator expects"):
        A.apply(np.zeros((10, 10), np.complex64))


def radial_trajectory(spokes, samples, n):
    """Golden-angle radial spokes through the centre spanning [-n/2, n/2) cycles per FOV: (spokes, samples, 3)."""
    angles = np.arange(spokes) * np.pi * (np.sqrt(5) - 1) / 2
    r = (np.arange(samples) - samples / 2) * n / samples
    traj = np.zeros((spokes, samples, 3))
    traj[..., 0] = r[None, :] * np.cos(angles)[:, None]
    traj[..., 1] = r[None, :] * np.sin(angles)[:, None]
    return traj


def exact_nudft(image, traj):
    """The centred unitary non-uniform DFT, computed directly: sum over pixels of image[y, x] exp(-2 pi i (kx (x -
    nx/2) / nx + ky (y - ny/2) / ny)) / sqrt(nx ny) at every (kx, ky) of traj."""
    ny, nx = image.shape
    x = np.arange(nx) - nx // 2
    y = np.arange(ny) - ny // 2
    kx, ky = traj[..., 0].reshape(-1), traj[..., 1].reshape(-1)
    ex = np.exp(-2j * np.pi * np.outer(kx, x) / nx)  # (samples, nx)
    ey = np.exp(-2j * np.pi * np.outer(ky, y) / ny)  # (samples, ny)
    values = np.einsum("sy,yx,sx->s", ey, image.astype(np.complex128), ex) / np.sqrt(nx * ny)
    return values.reshape(traj.shape[:-1])


def test_nufft_operator_matches_the_exact_nudft_and_passes_the_dot_test():
    rng = np.random.default_rng(5)
    ny, nx = 24, 20
    traj = radial_trajectory(9, 32, 20)
    image = random_complex(rng, (ny, nx))
    A = reconlab.nufft_model(traj, shape=(ny, nx))
    assert A.domain_shape == [ny, nx] and A.range_shape == [9, 32]
    y = A.apply(image)
    exact = exact_nudft(image, traj)
    assert np.linalg.norm(y - exact) <= 1e-3 * np.linalg.norm(exact)
    samples = random_complex(rng, (9, 32))
    lhs = np.vdot(samples, A.apply(image))
    rhs = np.vdot(A.adjoint(samples), image)
    assert abs(lhs - rhs) <= 1e-4 * abs(lhs)
    # With coil maps: A = N S, coil by coil.
    sens = random_complex(rng, (3, ny, nx))
    As = reconlab.nufft_model(traj, shape=(ny, nx), sens=sens)
    ys = As.apply(image)
    assert ys.shape == (3, 9, 32)
    for c in range(3):
        exact_c = exact_nudft(sens[c] * image, traj)
        assert np.linalg.norm(ys[c] - exact_c) <= 1e-3 * np.linalg.norm(exact_c)


def test_radial_cs_tv_beats_gridding_on_a_real_knee_and_bad_trajectories_raise():
    kspace, _, _ = knee()
    knee_magnitude = np.load(REFERENCE / "knee0_gt.npy")
    # The knee's magnitude, centre 128 x 128, with a smooth phase.
    ny, nx = knee_magnitude.shape
    crop = knee_magnitude[ny // 2 - 64:ny // 2 + 64, nx // 2 - 64:nx // 2 + 64]
    yy, xx = np.mgrid[0:128, 0:128] / 128.0
    truth = (crop * np.exp(1j * (0.8 * xx - 0.5 * yy))).astype(np.complex64)
    traj = radial_trajectory(48, 256, 128)
    samples = reconlab.nufft_model(traj, shape=(128, 128)).apply(truth)
    gridding = reconlab.reconstruct(samples, "gridding", traj=traj, shape=(128, 128))
    cs = reconlab.reconstruct(samples, "cs-tv", traj=traj, shape=(128, 128))
    assert gridding.shape == (128, 128) and cs.shape == (128, 128)
    psnr_grid = reconlab.metrics(np.abs(truth), gridding)["psnr"]
    psnr_cs = reconlab.metrics(np.abs(truth), cs)["psnr"]
    assert psnr_cs > psnr_grid + 1.0, (psnr_cs, psnr_grid)
    with pytest.raises(reconlab.Error, match="coordinates per sample"):
        reconlab.reconstruct(samples, "gridding", traj=np.zeros((48, 256, 4)))
    with pytest.raises(reconlab.Error, match="traj has"):
        reconlab.reconstruct(samples[:, :100], "gridding", traj=traj)
    with pytest.raises(reconlab.Error, match="Cartesian"):
        reconlab.reconstruct(samples, "gridding", traj=traj, mask=np.ones((48, 256), np.float32))
    with pytest.raises(reconlab.Error, match="trajector"):
        reconlab.reconstruct(kspace, "zero-filled", shape=(64, 64))
    with pytest.raises(reconlab.Error, match="Cartesian k-space"):
        reconlab.reconstruct(samples, "rof", traj=traj)


def test_a_network_method_without_weights_says_so():
    if "unet" not in reconlab.methods():
        pytest.skip("reconlab was built without networks")
    kspace, mask, _ = knee()
    with pytest.raises(reconlab.Error, match="weights|final.pt|model.json"):
        reconlab.reconstruct(kspace, "unet", mask=mask, weights=str(pathlib.Path("/nonexistent/final.pt")))


def test_a_trained_network_runs_from_python_as_from_the_command_line(tmp_path):
    """Trains a small U-Net with `reconlab train` on crops of knee slice 0 (R = 4 random masks), loads it from Python
    (the module opens the networks library with LibTorch on demand) and runs it on the held-out slice 1.

    This checks the path, not the network's quality: the training loss must fall and Python must give the command
    line's image. Forty epochs on 18 crops do not make a U-Net that beats zero-filled on another slice (measured:
    31.7 dB against zero-filled's 32.5 dB); the studies (brain_unet) judge trained networks on held-out data."""
    cli = os.environ.get("RECONLAB_CLI")
    if "unet" not in reconlab.methods() or not cli:
        pytest.skip("reconlab was built without networks")
    import subprocess
    slices = np.load(DATA / "knee" / "knee_complex_2x320x256.npy")
    inputs, targets = [], []
    for seed in range(6):
        mask, _ = reconlab.mask("random", (320, 256), acceleration=4, center_fraction=0.08, seed=seed)
        zf = np.abs(reconlab.reconstruct(centred_fft(slices[0]) * mask, "zero-filled", mask=mask))
        mu, sd = zf.mean(), zf.std()
        for y0, x0 in [(60, 40), (160, 120), (112, 80)]:
            inputs.append((zf[y0:y0 + 96, x0:x0 + 96] - mu) / sd)
            targets.append((np.abs(slices[0])[y0:y0 + 96, x0:x0 + 96] - mu) / sd)
    np.save(tmp_path / "x.npy", np.asarray(inputs, np.float32)[:, None])
    np.save(tmp_path / "y.npy", np.asarray(targets, np.float32)[:, None])
    (tmp_path / "unet.json").write_text(
        '{"architecture": "unet", "in_channels": 1, "out_channels": 1, "base_channels": 8, "num_pool_layers": 2, '
        '"drop_prob": 0.0, "residual": true, "padding": "reflect", "input": "(|zero-filled| - mean) / std"}')
    run = subprocess.run([cli, "train", "--model", str(tmp_path / "unet.json"), "--inputs", str(tmp_path / "x.npy"),
                          "--targets", str(tmp_path / "y.npy"), "--epochs", "40", "--batch-size", "6", "--lr", "3e-3",
                          "--seed", "3", "--threads", "2", str(tmp_path / "run")], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    loss = np.genfromtxt(tmp_path / "run" / "loss.csv", delimiter=",", names=True)["train_loss"]
    assert loss[-5:].mean() < 0.8 * loss[:5].mean()
    weights = str(tmp_path / "run" / "final.pt")
    mask, _ = reconlab.mask("random", (320, 256), acceleration=4, center_fraction=0.08, seed=99)
    kspace = (centred_fft(slices[1]) * mask).astype(np.complex64)
    net = reconlab.reconstruct(kspace, "unet", mask=mask, weights=weights)
    assert net.shape == (320, 256) and np.isfinite(net).all()
    np.save(tmp_path / "k.npy", kspace)
    np.save(tmp_path / "m.npy", mask)
    rec = subprocess.run([cli, "recon", "--method", "unet", "--weights", weights, "--kspace", str(tmp_path / "k.npy"),
                          "--mask", str(tmp_path / "m.npy"), str(tmp_path / "cli.npy")], capture_output=True, text=True)
    assert rec.returncode == 0, rec.stdout + rec.stderr
    np.testing.assert_allclose(net, np.load(tmp_path / "cli.npy"), rtol=0, atol=1e-5 * np.abs(net).max())
