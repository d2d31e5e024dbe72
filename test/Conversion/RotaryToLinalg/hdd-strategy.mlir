// RUN: rotary-opt %s -convert-rotary-to-linalg=hdd-strategy=scan -split-input-file | FileCheck %s --check-prefix=SCAN
// RUN: rotary-opt %s -convert-rotary-to-linalg -split-input-file | FileCheck %s --check-prefix=LANES
// RUN: not rotary-opt %s -convert-rotary-to-linalg=hdd-strategy=serial -split-input-file 2>&1 | FileCheck %s --check-prefix=BAD

// convert-rotary-to-linalg's hdd-strategy (lib/Conversion/RotaryToLinalg/
// LowerHDD.cpp, LowerHDDGrad.cpp): the fused HDD-RoPE runs as one scan
// over T per chunk (lanes, the default), or unfused (scan): the
// generator's rotations, their running product as a rotation_scan (which
// a schedule splits into a blocked scan over T), and the P form.
// BAD: error: convert-rotary-to-linalg: option 'hdd-strategy' must be lanes or scan, but got 'serial'

// SCAN-LABEL:  func.func @fused(
// SCAN-NOT:      rotary.hdd_rope_lanes
// The generator: a c×c rotation per (b, t, h, chunk), built in f32.
// SCAN:          linalg.generic {{.*}} ins({{.*}} : tensor<2x?x3x2xf32>, {{.*}})
// SCAN:          } -> tensor<2x?x3x2x4x4xf32>
// SCAN:          %[[P:.*]], %{{.*}} = rotary.rotation_scan ins(%{{.*}} : tensor<2x?x6x4x4xf32>)
// SCAN:          tensor.expand_shape %[[P]]
// The P form: y = P·x per chunk.
// SCAN:          linalg.generic {{.*}} ins(%{{.*}}, %{{.*}} : tensor<2x?x3x2x4x4xf32>, tensor<2x?x3x2x4xf32>)
// SCAN-NOT:      rotary.hdd_rope_lanes
// SCAN:          return
// LANES-LABEL: func.func @fused(
// LANES-NOT:     rotary.rotation_scan
// LANES:         rotary.hdd_rope_lanes
func.func @fused(%x: tensor<2x?x3x8xf32>, %a: tensor<2x?x3x2x6xf32>) -> tensor<2x?x3x8xf32> {
  %y = rotary.hdd_rope %x, %a form = givens {chunk = 4 : i64} : tensor<2x?x3x8xf32>, tensor<2x?x3x2x6xf32>
  return %y : tensor<2x?x3x8xf32>
}

// -----

// The gradient likewise: the P form's gradient, then the scan's (a reverse
// scan with the forward products recomputed), then the generator's.
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
