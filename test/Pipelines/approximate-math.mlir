// RUN: rotary-opt %s -rotary-approximate-math | FileCheck %s

// rotary-approximate-math: f32 exp and log become inline polynomials (no
// libm call per element, vectorisable); sin/cos stay libm calls (libm's
// sincosf measured faster than the scalar polynomials) and f64 math is
// left alone (the HDD-RoPE exponential in f64).

// CHECK-LABEL: func.func @exp_log_f32(
// CHECK-NOT:     math.exp
// CHECK-NOT:     math.log
// CHECK:         arith.mulf
// CHECK:         return
func.func @exp_log_f32(%x: f32, %v: vector<16xf32>) -> (f32, vector<16xf32>) {
  %0 = math.exp %x : f32
  %1 = math.log %v : vector<16xf32>
  return %0, %1 : f32, vector<16xf32>
}

// CHECK-LABEL: func.func @left_alone(
// CHECK:         math.exp %{{.*}} : f64
// CHECK:         math.sin %{{.*}} : f32
// CHECK:         math.cos %{{.*}} : f32
func.func @left_alone(%x: f64, %y: f32) -> (f64, f32, f32) {
  %0 = math.exp %x : f64
  %1 = math.sin %y : f32
  %2 = math.cos %y : f32
  return %0, %1, %2 : f64, f32, f32
}
