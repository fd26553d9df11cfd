"""The fastMRI U-Net (Ronneberger et al. 2015 as fastMRI's models/unet.py builds it: 3x3 convolutions without bias,
InstanceNorm2d without affine parameters, LeakyReLU 0.2, 2x2 max pooling, 2x2 stride-2 transposed convolutions,
a 1x1 head) in PyTorch's Python API, timed as networks_bench times reconlab's: one training step (forward, L1 loss,
backward, Adam step) per batch and a no-grad forward per batch, on the CPU.
Usage: torch_unet.py SIZE BATCH CHANNELS POOLS THREADS REPEATS. Prints `params N`, `train_step_seconds S` and
`inference_seconds S` (medians over REPEATS timed calls after 2 warm-up calls) and the torch version."""
import sys
import time

import torch
from torch import nn
from torch.nn import functional as F


class ConvBlock(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.layers = nn.Sequential(
            nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.InstanceNorm2d(cout), nn.LeakyReLU(0.2, True),
            nn.Dropout2d(0.0),
            nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.InstanceNorm2d(cout), nn.LeakyReLU(0.2, True),
            nn.Dropout2d(0.0))

    def forward(self, x):
        return self.layers(x)


class TransposeConvBlock(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.layers = nn.Sequential(nn.ConvTranspose2d(cin, cout, 2, stride=2, bias=False), nn.InstanceNorm2d(cout),
                                    nn.LeakyReLU(0.2, True))

    def forward(self, x):
        return self.layers(x)


class Unet(nn.Module):
    def __init__(self, cin, cout, chans, pools):
        super().__init__()
        self.down = nn.ModuleList([ConvBlock(cin, chans)])
        ch = chans
        for _ in range(pools - 1):
            self.down.append(ConvBlock(ch, ch * 2))
            ch *= 2
        self.bottleneck = ConvBlock(ch, ch * 2)
        self.up_transpose = nn.ModuleList()
        self.up_conv = nn.ModuleList()
        for _ in range(pools):
            self.up_transpose.append(TransposeConvBlock(ch * 2, ch))
            self.up_conv.append(ConvBlock(ch * 2, ch))
            ch //= 2
        self.head = nn.Conv2d(chans, cout, 1)

    def forward(self, x):
        skips = []
        for block in self.down:
            x = block(x)
            skips.append(x)
            x = F.max_pool2d(x, 2)
        x = self.bottleneck(x)
        for t, c in zip(self.up_transpose, self.up_conv):
            x = torch.cat([t(x), skips.pop()], 1)
            x = c(x)
        return self.head(x)


size, batch, chans, pools, threads, repeats = (int(a) for a in sys.argv[1:7])
torch.set_num_threads(threads)
torch.manual_seed(0)
net = Unet(1, 1, chans, pools)
x = torch.rand(batch, 1, size, size)
target = torch.rand(batch, 1, size, size)
opt = torch.optim.Adam(net.parameters(), lr=1e-3)


def step():
    opt.zero_grad()
    loss = F.l1_loss(net(x), target)
    loss.backward()
    opt.step()
    return loss.item()


def infer():
    with torch.no_grad():
        return net(x)


def median_seconds(f):
    for _ in range(2):
        f()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        f()
        times.append(time.perf_counter() - t0)
    return sorted(times)[len(times) // 2]


net.train()
train = median_seconds(step)
net.eval()
inference = median_seconds(infer)
print("params", sum(p.numel() for p in net.parameters()))
print("train_step_seconds", train)
print("inference_seconds", inference)
print("torch", torch.__version__)
