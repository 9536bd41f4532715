#!/usr/bin/env python3
"""Writes a small synthetic image-folder dataset (circles, squares, triangles on noisy coloured backgrounds, 96x96
24-bit BMP, 30 per class) for the README screenshot of `mlpipelines serve`, so no dataset photo is shown or committed.
Usage: python3 make-shapes.py OUT_DIR   (writes OUT_DIR/<class>/<class>-NN.bmp; standard library only)."""
import math, os, random, struct, sys


def write_bmp(path, size, pixels):
    row = (size * 3 + 3) & ~3
    data = bytearray()
    for y in range(size - 1, -1, -1):
        line = bytearray()
        for r, g, b in pixels[y]:
            line += bytes((b, g, r))
        data += line + b"\0" * (row - size * 3)
    header = struct.pack("<2sIHHI", b"BM", 54 + len(data), 0, 0, 54)
    info = struct.pack("<IiiHHIIiiII", 40, size, size, 1, 24, 0, len(data), 2835, 2835, 0, 0)
    with open(path, "wb") as f:
        f.write(header + info + data)


def inside(shape, x, y, cx, cy, s):
    if shape == "circle":
        return (x - cx) ** 2 + (y - cy) ** 2 <= s * s
    if shape == "square":
        return abs(x - cx) <= s * 0.8 and abs(y - cy) <= s * 0.8
    return cy - s <= y <= cy + s and abs(x - cx) <= (y - (cy - s)) / 2


def main(out, size=96, per_class=30, seed=7):
    rng = random.Random(seed)
    for shape in ("circle", "square", "triangle"):
        os.makedirs(os.path.join(out, shape), exist_ok=True)
        for i in range(per_class):
            bg = [rng.randint(170, 240) for _ in range(3)]
            fg = [rng.randint(10, 120), rng.randint(40, 150), rng.randint(60, 200)]
            s, cx, cy = rng.randint(22, 34), rng.randint(38, 58), rng.randint(38, 58)
            pixels = [[tuple(max(0, min(255, v + rng.randint(-12, 12)))
                             for v in (fg if inside(shape, x, y, cx, cy, s) else bg))
                       for x in range(size)] for y in range(size)]
            write_bmp(os.path.join(out, shape, f"{shape}-{i:02d}.bmp"), size, pixels)


if __name__ == "__main__":
    main(sys.argv[1])
