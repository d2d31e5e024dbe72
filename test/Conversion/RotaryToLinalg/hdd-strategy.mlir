// RUN: rotary-opt %s -convert-rotary-to-linalg=hdd-strategy=scan -split-input-file | FileCheck %s --check-prefix=SCAN
// RUN: rotary-opt %s -convert-rotary-to-linalg -split-input-file | FileCheck %s --check-prefix=LANES
// RUN: not rotary-opt %s -convert-rotary-to-linalg=hdd-strategy=serial -split-input-file 2>&1 | FileCheck %s --check-prefix=BAD

// convert-rotary-to-linalg's hdd-strategy (lib/Conversion/RotaryToLinalg/
// LowerHDDGrad.cpp): the fused HDD-RoPE's gradient runs as the scans over
// T per chunk (lanes, the default), or unfused (scan): the P form's
// gradient, the cumulative product's (rotation_scans, which a schedule
// splits into blocked scans over T) and the generator's. The forward is
// rotary.hdd_rope_lanes either way: its schedule picks a scan per lane or
// a blocked scan.
// BAD: error: convert-rotary-to-linalg: option 'hdd-strategy' must be lanes or scan, but got 'serial'

// SCAN-LABEL:  func.func @fused(
// SCAN-NOT:      rotary.rotation_scan
// SCAN:          rotary.hdd_rope_lanes
// LANES-LABEL: func.func @fused(
// LANES-NOT:     rotary.rotation_scan
// LANES:         rotary.hdd_rope_lanes
func.func @fused(%x: tensor<2x?x3x8xf32>, %a: tensor<2x?x3x2x6xf32>) -> tensor<2x?x3x8xf32> {
  %y = rotary.hdd_rope %x, %a form = givens {chunk = 4 : i64} : tensor<2x?x3x8xf32>, tensor<2x?x3x2x6xf32>
  return %y : tensor<2x?x3x8xf32>
}

// -----

// The gradient: with scan, the P form's gradient, then the cumulative
// product's (a reverse scan with the forward products recomputed), then the
// generator's.
// SCAN-LABEL:  func.func @fused_grad(
// SCAN-NOT:      rotary.hdd_rope_lanes_grad
// SCAN:          rotary.rotation_scan
// SCAN-NOT:      rotary.hdd_rope_lanes_grad
// SCAN:          return
// LANES-LABEL: func.func @fused_grad(
// LANES-NOT:     rotary.rotation_scan
// LANES:         rotary.hdd_rope_lanes_grad
func.func @fused_grad(%x: tensor<2x?x3x8xf32>, %a: tensor<2x?x3x2x6xf32>, %dy: tensor<2x?x3x8xf32>) -> (tensor<2x?x3x8xf32>, tensor<2x?x3x2x6xf32>) {
  %dx, %da = rotary.hdd_rope_grad %x, %a, %dy form = exp {chunk = 4 : i64} : tensor<2x?x3x8xf32>, tensor<2x?x3x2x6xf32>
  return %dx, %da : tensor<2x?x3x8xf32>, tensor<2x?x3x2x6xf32>
}
