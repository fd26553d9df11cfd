"""Seconds per iteration of scikit-image's denoise_tv_chambolle (Chambolle 2004's projection, as reconlab's ROF)
on the float32 image of an .npy file: `skimage_rof.py IMAGE.npy ITERATIONS REPEATS WEIGHT`.

eps = -1 disables scikit-image's energy stop, so every call runs exactly ITERATIONS iterations. Prints
`seconds_per_iteration <median over REPEATS calls>` (the first, warm-up call not counted) and the version."""
import sys
import time

import numpy as np
import skimage
from skimage.restoration import denoise_tv_chambolle

image = np.load(sys.argv[1]).astype(np.float32)
iterations, repeats, weight = int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
kwargs = {"weight": weight, "eps": -1.0}  # max_num_iter: scikit-image >= 0.19 (Debian 12 has 0.19.3)
denoise_tv_chambolle(image, **kwargs, max_num_iter=2)
times = []
for _ in range(repeats):
    t0 = time.perf_counter()
    denoise_tv_chambolle(image, **kwargs, max_num_iter=iterations)
    times.append((time.perf_counter() - t0) / iterations)
print("seconds_per_iteration", float(np.median(times)))
print("skimage", skimage.__version__)
