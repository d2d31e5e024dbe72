"""Inputs and pure-Python references for the rotary-runner lit tests.

Pure Python (struct, math, random): no NumPy needed. It runs nothing itself.

  npy_case.py gen CASE DIR     writes DIR/in0.npy, DIR/in1.npy, ... for CASE
  npy_case.py check CASE DIR   reads DIR/out0.npy, ... , compares them with
                               the reference of CASE, prints
                               "CASE: max_err=E tol=T shape=[...] OK" (or
                               FAIL) and exits 1 above the tolerance or on a
                               shape / dtype mismatch

Cases (the .mlir entry each one feeds is in the test that uses it):
  rope          x f32 [2,5,3,8], positions i64 [5] up to 1.2e8; half layout,
                base 10000
  rope_partial  x f32 [2,4,2,10], positions f32 [2,4] (per batch); interleaved,
                rotary_dim 6, base 500, inverse: features 6..9 pass through
  rope_short    as rope, but positions has 4 entries (T = 5): a check fails
  fam_step      p, g, m f32 [37], lr, alpha f32 []; weight decay 0.01
  givens        x f32 [70,6], angles f32 [15]: the full default schedule over
                two row tiles (64 + 6)
  rope_bwd      as rope, plus dy: dx of @rope_bwd (the inverse rotation of dy)
  givens_bwd    as givens, plus dy: (dx, dangles) of @givens_bwd (Math §2)
  scan          g f32 [2,5,3,3]: the running product P_t = G_1 ⋯ G_t along T
  attention     q f32 [2,3,5,4], k, v f32 [2,3,7,4]: causal, window 3, the
                queries the last 5 of 7 positions; (output, log-sum-exp)
"""

import ast
import math
import random
import struct
import sys

DTYPES = {"f32": ("<f4", "f", 4), "f64": ("<f8", "d", 8),
          "i32": ("<i4", "i", 4), "i64": ("<i8", "q", 8)}
BY_DESCR = {v[0]: k for k, v in DTYPES.items()}


def write_npy(path, dtype, shape, values):
    """Writes a C-order little-endian .npy (version 1.0)."""
    descr, code, _ = DTYPES[dtype]
    count = 1
    for s in shape:
        count *= s
    if len(values) != count:
        raise ValueError("%s: %d values for shape %s" % (path, len(values), shape))
    # Python's tuple syntax: (), (5,), (2, 3).
    shape_text = "(%s)" % ", ".join("%d" % s for s in shape)
    if len(shape) == 1:
        shape_text = "(%d,)" % shape[0]
    header = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (
        descr, shape_text)
    # Pad so that magic (6) + version (2) + length (2) + header is a
    # multiple of 64, ending in a newline.
    pad = (64 - (10 + len(header) + 1) % 64) % 64
    header = header + " " * pad + "\n"
    with open(path, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00")
        f.write(struct.pack("<H", len(header)))
        f.write(header.encode("latin1"))
        f.write(struct.pack("<%d%s" % (count, code), *values))


def read_npy(path):
    """Returns (dtype, shape, values) of a .npy file (versions 1 and 2)."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:6] != b"\x93NUMPY":
        raise ValueError("%s: not a .npy file" % path)
    major = data[6]
    if major == 1:
        (hlen,) = struct.unpack("<H", data[8:10])
        start = 10
    else:
        (hlen,) = struct.unpack("<I", data[8:12])
        start = 12
    header = ast.literal_eval(data[start:start + hlen].decode("latin1"))
    if header["fortran_order"]:
        raise ValueError("%s: Fortran order" % path)
    dtype = BY_DESCR[header["descr"]]
    shape = list(header["shape"])
    count = 1
    for s in shape:
        count *= s
    _, code, size = DTYPES[dtype]
    body = data[start + hlen:]
    if len(body) != count * size:
        raise ValueError("%s: %d bytes of data for %s %s" %
                         (path, len(body), dtype, shape))
    return dtype, shape, list(struct.unpack("<%d%s" % (count, code), body))


def f32(v):
    """Rounds a Python float to the nearest f32."""
    return struct.unpack("<f", struct.pack("<f", v))[0]


def randoms(rng, n, lo=-1.0, hi=1.0):
    return [f32(rng.uniform(lo, hi)) for _ in range(n)]


def index(shape, idx):
    flat = 0
    for s, i in zip(shape, idx):
        flat = flat * s + i
    return flat


# ---------------------------------------------------------------------------
# rope (docs/Math.md §1): θ = p·f_i (+ inverse: −θ), f_i = base^(−2i/r);
# (a, b) -> (a cos θ − b sin θ, a sin θ + b cos θ)
# ---------------------------------------------------------------------------

def rope_reference(x, xshape, pos, pshape, layout, base, r=None,
                   inverse=False):
    B, T, H, D = xshape
    r = D if r is None else r
    half = r // 2
    y = list(x)
    for b in range(B):
        for t in range(T):
            p = pos[index(pshape, (b, t) if len(pshape) == 2 else (t,))]
            for i in range(half):
                theta = p * base ** (-2.0 * i / r)
                if inverse:
                    theta = -theta
                c, s = math.cos(theta), math.sin(theta)
                for h in range(H):
                    if layout == "half":
                        ia, ib = i, i + half
                    else:  # interleaved
                        ia, ib = 2 * i, 2 * i + 1
                    a = x[index(xshape, (b, t, h, ia))]
                    bb = x[index(xshape, (b, t, h, ib))]
                    y[index(xshape, (b, t, h, ia))] = a * c - bb * s
                    y[index(xshape, (b, t, h, ib))] = a * s + bb * c
    return y


def gen_rope(rng, positions_len=5):
    xshape = [2, 5, 3, 8]
    x = randoms(rng, 2 * 5 * 3 * 8)
    # Large positions (θ up to ~1.2e8 rad) exercise the f64 angle table and
    # its range reduction.
    pos = [0, 1, 7, 1000, 123456789][:positions_len]
    if positions_len > 5:
        raise ValueError("at most 5 positions")
    return [("f32", xshape, x), ("i64", [positions_len], pos)]


def check_rope(inputs):
    (_, xshape, x), (_, pshape, pos) = inputs
    return [("f32", xshape,
             rope_reference(x, xshape, pos, pshape, "half", 10000.0))]


def gen_rope_partial(rng):
    xshape = [2, 4, 2, 10]
    x = randoms(rng, 2 * 4 * 2 * 10)
    pos = [f32(v) for v in (0.0, 1.5, 3.0, 4.5, 10.0, 11.0, 12.0, 13.0)]
    return [("f32", xshape, x), ("f32", [2, 4], pos)]


def check_rope_partial(inputs):
    (_, xshape, x), (_, pshape, pos) = inputs
    return [("f32", xshape,
             rope_reference(x, xshape, pos, pshape, "interleaved", 500.0,
                            r=6, inverse=True))]


# ---------------------------------------------------------------------------
# fam_step (docs/Math.md §7 step 4): g' = g + wd·p; m' = α·m + (1 − α)·g';
# p' = p − lr·m'
# ---------------------------------------------------------------------------

def gen_fam_step(rng):
    n = 37
    return [("f32", [n], randoms(rng, n)), ("f32", [n], randoms(rng, n)),
            ("f32", [n], randoms(rng, n)), ("f32", [], [f32(0.05)]),
            ("f32", [], [f32(0.9)])]


def check_fam_step(inputs, wd=0.01):
    p, g, m = inputs[0][2], inputs[1][2], inputs[2][2]
    lr, alpha = inputs[3][2][0], inputs[4][2][0]
    new_p, new_m = [], []
    for pv, gv, mv in zip(p, g, m):
        gd = gv + f32(wd) * pv
        mn = alpha * mv + (1.0 - alpha) * gd
        new_m.append(mn)
        new_p.append(pv - lr * mn)
    n = len(p)
    return [("f32", [n], new_p), ("f32", [n], new_m)]


# ---------------------------------------------------------------------------
# givens (docs/Math.md §2), default round-robin schedule
# ---------------------------------------------------------------------------

def round_robin(d):
    pairs = []
    for s in range(d - 1):
        pairs.append((s, d - 1))
        for k in range(1, d // 2):
            a, b = (s + k) % (d - 1), (s - k) % (d - 1)
            pairs.append((min(a, b), max(a, b)))
    return pairs


def gen_givens(rng):
    return [("f32", [70, 6], randoms(rng, 70 * 6)),
            ("f32", [15], randoms(rng, 15, -3.0, 3.0))]


def check_givens(inputs):
    (_, xshape, x), (_, _, angles) = inputs
    rows, d = xshape
    pairs = round_robin(d)[:len(angles)]
    y = list(x)
    for row in range(rows):
        v = y[row * d:(row + 1) * d]
        for (i, j), phi in zip(pairs, angles):
            c, s = math.cos(phi), math.sin(phi)
            vi, vj = v[i], v[j]
            v[i] = vi * c + vj * s
            v[j] = -vi * s + vj * c
        y[row * d:(row + 1) * d] = v
    return [("f32", xshape, y)]


def gen_rope_bwd(rng):
    inputs = gen_rope(rng)
    return inputs + [("f32", inputs[0][1], randoms(rng, 2 * 5 * 3 * 8))]


def check_rope_bwd(inputs):
    (_, xshape, _), (_, pshape, pos), (_, _, dy) = inputs
    return [("f32", xshape,
             rope_reference(dy, xshape, pos, pshape, "half", 10000.0,
                            inverse=True))]


def gen_givens_bwd(rng):
    inputs = gen_givens(rng)
    return inputs + [("f32", [70, 6], randoms(rng, 70 * 6))]


def check_givens_bwd(inputs):
    """x̄ = ȳ·G_Nᵀ⋯G_1ᵀ; φ̄_k = Σ_rows ā'(−a sin φ + b cos φ) +
    b̄'(−a cos φ − b sin φ), (a, b) the row's pair before rotation k."""
    (_, xshape, x), (_, _, angles), (_, _, dy) = inputs
    rows, d = xshape
    pairs = round_robin(d)[:len(angles)]
    dx, dangles = list(dy), [0.0] * len(angles)
    for row in range(rows):
        v = x[row * d:(row + 1) * d]
        before = []
        for (i, j), phi in zip(pairs, angles):
            before.append((v[i], v[j]))
            c, s = math.cos(phi), math.sin(phi)
            v[i], v[j] = v[i] * c + v[j] * s, -v[i] * s + v[j] * c
        g = dy[row * d:(row + 1) * d]
        for k in reversed(range(len(angles))):
            (i, j), phi = pairs[k], angles[k]
            a, b = before[k]
            c, s = math.cos(phi), math.sin(phi)
            da, db = g[i], g[j]
            dangles[k] += da * (-a * s + b * c) + db * (-a * c - b * s)
            g[i], g[j] = da * c - db * s, da * s + db * c
        dx[row * d:(row + 1) * d] = g
    return [("f32", xshape, dx), ("f32", [len(angles)], dangles)]


# ---------------------------------------------------------------------------
# cumulative_rotation (docs/Math.md §5): P_t = G_1·G_2 ⋯ G_t along axis 1
# ---------------------------------------------------------------------------

def gen_scan(rng):
    # [A = 2, T = 5, c = 3, c = 3]: any matrices do for the forward product.
    return [("f32", [2, 5, 3, 3], randoms(rng, 2 * 5 * 9))]


def check_scan(inputs):
    (_, shape, g), = inputs
    a_len, t_len, c, _ = shape
    out = []
    for a in range(a_len):
        p = None
        for t in range(t_len):
            base = (a * t_len + t) * c * c
            m = g[base:base + c * c]
            if p is None:
                p = list(m)
            else:
                p = [sum(p[i * c + k] * m[k * c + j] for k in range(c))
                     for i in range(c) for j in range(c)]
            out.extend(p)
    return [("f32", shape, out)]


# ---------------------------------------------------------------------------
# attention (the forward of rotary.attention): q [2,3,5,4], k, v [2,3,7,4],
# causal with window 3; query i at position i + S − T; scale D^-1/2
# ---------------------------------------------------------------------------

def gen_attention(rng):
    return [("f32", [2, 3, 5, 4], randoms(rng, 120)),
            ("f32", [2, 3, 7, 4], randoms(rng, 168)),
            ("f32", [2, 3, 7, 4], randoms(rng, 168))]


def check_attention(inputs, t=5, s=7, d=4, window=3):
    (_, _, q), (_, _, k), (_, _, v) = inputs
    out, lse = [], []
    for bh in range(6):
        for i in range(t):
            p = i + s - t
            qi = q[(bh * t + i) * d:(bh * t + i + 1) * d]
            seen = [j for j in range(s) if j <= p and p - j <= window]
            sc = [sum(qi[e] * k[(bh * s + j) * d + e] for e in range(d)) /
                  math.sqrt(d) for j in seen]
            m = max(sc)
            w = [math.exp(x - m) for x in sc]
            z = sum(w)
            lse.append(m + math.log(z))
            for e in range(d):
                out.append(sum(wn * v[(bh * s + j) * d + e]
                               for wn, j in zip(w, seen)) / z)
    return [("f32", [2, 3, 5, 4], out), ("f32", [2, 3, 5], lse)]


CASES = {
    "attention": (gen_attention, check_attention, 1e-5),
    "scan": (gen_scan, check_scan, 1e-5),
    "rope": (lambda rng: gen_rope(rng), check_rope, 2e-5),
    "rope_short": (lambda rng: gen_rope(rng, 4), None, None),
    "rope_partial": (gen_rope_partial, check_rope_partial, 2e-5),
    "fam_step": (gen_fam_step, check_fam_step, 1e-6),
    "givens": (gen_givens, check_givens, 2e-5),
    "rope_bwd": (gen_rope_bwd, check_rope_bwd, 2e-5),
    "givens_bwd": (gen_givens_bwd, check_givens_bwd, 1e-4),
}


def main():
    if len(sys.argv) != 4 or sys.argv[1] not in ("gen", "check") or \
            sys.argv[2] not in CASES:
        sys.exit(__doc__)
    mode, case, out_dir = sys.argv[1:]
    gen, check, tol = CASES[case]
    rng = random.Random(20240613)
    inputs = gen(rng)
    if mode == "gen":
        for k, (dtype, shape, values) in enumerate(inputs):
            write_npy("%s/in%d.npy" % (out_dir, k), dtype, shape, values)
        print("%s: wrote %d inputs" % (case, len(inputs)))
        return
    if check is None:
        sys.exit("%s: no reference to check against" % case)
    expected = check(inputs)
    worst, ok = 0.0, True
    for k, (dtype, shape, values) in enumerate(expected):
        got_dtype, got_shape, got = read_npy("%s/out%d.npy" % (out_dir, k))
        if got_dtype != dtype or got_shape != shape:
            print("%s: out%d is %s %s, expected %s %s FAIL" %
                  (case, k, got_dtype, got_shape, dtype, shape))
            ok = False
            continue
        for g, e in zip(got, values):
            err = abs(g - e) if math.isfinite(g) else math.inf
            worst = max(worst, err)
    ok = ok and worst <= tol
    shapes = ",".join(str(e[1]) for e in expected)
    print("%s: max_err=%.3g tol=%.3g shape=%s %s" %
          (case, worst, tol, shapes, "OK" if ok else "FAIL"))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
