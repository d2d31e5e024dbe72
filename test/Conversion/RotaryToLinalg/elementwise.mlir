// RUN: rotary-opt %s -convert-rotary-to-linalg -split-input-file -mlir-print-local-scope | FileCheck %s --enable-var-scope

// fam_step, quaternion_rotate and inv_freq
// (lib/Conversion/RotaryToLinalg/LowerElementwise.cpp): each one generic.

//===----------------------------------------------------------------------===//
// rotary.fam_step: g' = g + wd·p; m' = α·m + (1 − α)·g'; p' = p − lr·m'
//===----------------------------------------------------------------------===//

// bf16 parameters with f32 momentum and weight decay: one generic with two
// outputs (p', m'), the 0-d lr and α broadcast.
// CHECK-LABEL: func.func @fam_step_weight_decay(
// CHECK-SAME:    %[[P:[^:]*]]: tensor<?x4xbf16>, %[[G:[^:]*]]: tensor<?x4xbf16>, %[[M:[^:]*]]: tensor<?x4xf32>, %[[LR:[^:]*]]: tensor<f32>, %[[AL:[^:]*]]: tensor<f32>)
// CHECK-NOT:   rotary.fam_step
// CHECK:       %[[R:.*]]:2 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> ()>, affine_map<(d0, d1) -> ()>, affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%[[P]], %[[G]], %[[M]], %[[LR]], %[[AL]] : tensor<?x4xbf16>, tensor<?x4xbf16>, tensor<?x4xf32>, tensor<f32>, tensor<f32>) outs(%{{.*}}, %{{.*}} : tensor<?x4xbf16>, tensor<?x4xf32>)
// CHECK-NEXT:  ^bb0(%[[PV:[^:]*]]: bf16, %[[GV:[^:]*]]: bf16, %[[MV:[^:]*]]: f32, %[[LRV:[^:]*]]: f32, %[[ALV:[^:]*]]: f32, %{{.*}}: bf16, %{{.*}}: f32):
// CHECK-NEXT:    %[[P32:.*]] = arith.extf %[[PV]] : bf16 to f32
// CHECK-NEXT:    %[[G32:.*]] = arith.extf %[[GV]] : bf16 to f32
// CHECK-NEXT:    %[[WD:.*]] = arith.constant 0.00999999977 : f32
// CHECK-NEXT:    %[[WDP:.*]] = arith.mulf %[[WD]], %[[P32]] : f32
// CHECK-NEXT:    %[[GD:.*]] = arith.addf %[[G32]], %[[WDP]] : f32
// CHECK-DAG:     %[[KEEP:.*]] = arith.mulf %[[ALV]], %[[MV]] : f32
// CHECK-DAG:     %[[ONE:.*]] = arith.constant 1.000000e+00 : f32
// CHECK-DAG:     %[[OMA:.*]] = arith.subf %[[ONE]], %[[ALV]] : f32
// CHECK-DAG:     %[[REST:.*]] = arith.mulf %[[OMA]], %[[GD]] : f32
// CHECK:         %[[MNEW:.*]] = arith.addf %[[KEEP]], %[[REST]] : f32
// CHECK-NEXT:    %[[STEP:.*]] = arith.mulf %[[LRV]], %[[MNEW]] : f32
// CHECK-NEXT:    %[[PNEW:.*]] = arith.subf %[[P32]], %[[STEP]] : f32
// CHECK-NEXT:    %[[PB:.*]] = arith.truncf %[[PNEW]] : f32 to bf16
// CHECK-NEXT:    linalg.yield %[[PB]], %[[MNEW]] : bf16, f32
// CHECK:       return %[[R]]#0, %[[R]]#1 : tensor<?x4xbf16>, tensor<?x4xf32>
func.func @fam_step_weight_decay(%p: tensor<?x4xbf16>, %g: tensor<?x4xbf16>, %m: tensor<?x4xf32>, %lr: tensor<f32>, %a: tensor<f32>) -> (tensor<?x4xbf16>, tensor<?x4xf32>) {
  %p2, %m2 = rotary.fam_step %p, %g, %m, %lr, %a {weight_decay = 0.01 : f32} : tensor<?x4xbf16>, tensor<?x4xf32>
  return %p2, %m2 : tensor<?x4xbf16>, tensor<?x4xf32>
}

// -----

// weight_decay = 0 (the default): the decay term is not emitted at all.
// CHECK-LABEL: func.func @fam_step_no_decay(
// CHECK-SAME:    %[[P:[^:]*]]: tensor<?xf32>
// CHECK:       linalg.generic
// CHECK-NEXT:  ^bb0(%[[PV:[^:]*]]: f32, %[[GV:[^:]*]]: f32, %[[MV:[^:]*]]: f32, %[[LRV:[^:]*]]: f32, %[[ALV:[^:]*]]: f32,
// CHECK-NOT:     arith.extf
// CHECK-NEXT:    %[[KEEP:.*]] = arith.mulf %[[ALV]], %[[MV]] : f32
// CHECK-NEXT:    %[[ONE:.*]] = arith.constant 1.000000e+00 : f32
// CHECK-NEXT:    %[[OMA:.*]] = arith.subf %[[ONE]], %[[ALV]] : f32
// CHECK-NEXT:    %[[REST:.*]] = arith.mulf %[[OMA]], %[[GV]] : f32
// CHECK-NEXT:    %[[MNEW:.*]] = arith.addf %[[KEEP]], %[[REST]] : f32
// CHECK-NEXT:    %[[STEP:.*]] = arith.mulf %[[LRV]], %[[MNEW]] : f32
// CHECK-NEXT:    %[[PNEW:.*]] = arith.subf %[[PV]], %[[STEP]] : f32
// CHECK-NEXT:    linalg.yield %[[PNEW]], %[[MNEW]] : f32, f32
func.func @fam_step_no_decay(%p: tensor<?xf32>, %g: tensor<?xf32>, %m: tensor<?xf32>, %lr: tensor<f32>, %a: tensor<f32>) -> (tensor<?xf32>, tensor<?xf32>) {
  %p2, %m2 = rotary.fam_step %p, %g, %m, %lr, %a {weight_decay = 0.0 : f32} : tensor<?xf32>, tensor<?xf32>
  return %p2, %m2 : tensor<?xf32>, tensor<?xf32>
}

// -----

// A 0-d parameter: a generic with no loops.
// CHECK-LABEL: func.func @fam_step_scalar(
// CHECK:       linalg.generic {indexing_maps = [affine_map<() -> ()>, affine_map<() -> ()>, affine_map<() -> ()>, affine_map<() -> ()>, affine_map<() -> ()>, affine_map<() -> ()>, affine_map<() -> ()>], iterator_types = []}
func.func @fam_step_scalar(%s: tensor<f32>) -> (tensor<f32>, tensor<f32>) {
  %p2, %m2 = rotary.fam_step %s, %s, %s, %s, %s : tensor<f32>, tensor<f32>
  return %p2, %m2 : tensor<f32>, tensor<f32>
}

// -----

//===----------------------------------------------------------------------===//
// rotary.quaternion_rotate: w = cos(θ/2), v = sin(θ/2)·u/|u|;
// x' = x + w·t + v × t, t = 2·(v × x)
//===----------------------------------------------------------------------===//

// Per-vector axis and angle, bf16 data: x and u enter as their three
// component slices [..., c], the result is assembled with insert_slice.
// CHECK-LABEL: func.func @quaternion_per_vector(
// CHECK-SAME:    %[[X:[^:]*]]: tensor<4x8x3xbf16>, %[[U:[^:]*]]: tensor<4x8x3xf32>, %[[T:[^:]*]]: tensor<4x8xf32>)
// CHECK-NOT:   rotary.quaternion_rotate
// CHECK:       %[[X0:.*]] = tensor.extract_slice %[[X]][0, 0, 0] [4, 8, 1] [1, 1, 1] : tensor<4x8x3xbf16> to tensor<4x8xbf16>
// CHECK-NEXT:  %[[X1:.*]] = tensor.extract_slice %[[X]][0, 0, 1] [4, 8, 1] [1, 1, 1] : tensor<4x8x3xbf16> to tensor<4x8xbf16>
// CHECK-NEXT:  %[[X2:.*]] = tensor.extract_slice %[[X]][0, 0, 2] [4, 8, 1] [1, 1, 1] : tensor<4x8x3xbf16> to tensor<4x8xbf16>
// CHECK-NEXT:  %[[U0:.*]] = tensor.extract_slice %[[U]][0, 0, 0] [4, 8, 1] [1, 1, 1] : tensor<4x8x3xf32> to tensor<4x8xf32>
// CHECK-NEXT:  %[[U1:.*]] = tensor.extract_slice %[[U]][0, 0, 1] [4, 8, 1] [1, 1, 1] : tensor<4x8x3xf32> to tensor<4x8xf32>
// CHECK-NEXT:  %[[U2:.*]] = tensor.extract_slice %[[U]][0, 0, 2] [4, 8, 1] [1, 1, 1] : tensor<4x8x3xf32> to tensor<4x8xf32>
// CHECK:       %[[R:.*]]:3 = linalg.generic {{.*}} iterator_types = ["parallel", "parallel"]} ins(%[[X0]], %[[X1]], %[[X2]], %[[U0]], %[[U1]], %[[U2]], %[[T]] : tensor<4x8xbf16>, tensor<4x8xbf16>, tensor<4x8xbf16>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>) outs(%{{.*}}, %{{.*}}, %{{.*}} : tensor<4x8xbf16>, tensor<4x8xbf16>, tensor<4x8xbf16>)
// CHECK-NEXT:  ^bb0(%[[A0:[^:]*]]: bf16, %[[A1:[^:]*]]: bf16, %[[A2:[^:]*]]: bf16, %[[V0:[^:]*]]: f32, %[[V1:[^:]*]]: f32, %[[V2:[^:]*]]: f32, %[[TH:[^:]*]]: f32,
// CHECK-DAG:     arith.extf %[[A0]] : bf16 to f32
// CHECK-DAG:     arith.extf %[[A1]] : bf16 to f32
// CHECK-DAG:     arith.extf %[[A2]] : bf16 to f32
// |u| clamped below by eps = 1e-8.
// CHECK:         %[[NORM:.*]] = math.sqrt %{{.*}} : f32
// CHECK-NEXT:    %[[EPS:.*]] = arith.constant 9.99999993E-9 : f32
// CHECK-NEXT:    %[[NC:.*]] = arith.maximumf %[[NORM]], %[[EPS]] : f32
// CHECK-NEXT:    %[[HALF:.*]] = arith.constant 5.000000e-01 : f32
// CHECK-NEXT:    %[[HT:.*]] = arith.mulf %[[TH]], %[[HALF]] : f32
// CHECK-NEXT:    %[[W:.*]] = math.cos %[[HT]] : f32
// CHECK-NEXT:    %[[SN:.*]] = math.sin %[[HT]] : f32
// CHECK-NEXT:    %[[SON:.*]] = arith.divf %[[SN]], %[[NC]] : f32
// CHECK-NEXT:    arith.mulf %[[V0]], %[[SON]] : f32
// CHECK-NEXT:    arith.mulf %[[V1]], %[[SON]] : f32
// CHECK-NEXT:    arith.mulf %[[V2]], %[[SON]] : f32
// CHECK:         arith.constant 2.000000e+00 : f32
// CHECK:         arith.mulf %[[W]], %{{.*}} : f32
// CHECK:         arith.truncf %{{.*}} : f32 to bf16
// CHECK:         arith.truncf %{{.*}} : f32 to bf16
// CHECK:         arith.truncf %{{.*}} : f32 to bf16
// CHECK-NEXT:    linalg.yield %{{.*}}, %{{.*}}, %{{.*}} : bf16, bf16, bf16
// CHECK:       %[[E:.*]] = tensor.empty() : tensor<4x8x3xbf16>
// CHECK-NEXT:  %[[Y0:.*]] = tensor.insert_slice %[[R]]#0 into %[[E]][0, 0, 0] [4, 8, 1] [1, 1, 1] : tensor<4x8xbf16> into tensor<4x8x3xbf16>
// CHECK-NEXT:  %[[Y1:.*]] = tensor.insert_slice %[[R]]#1 into %[[Y0]][0, 0, 1] [4, 8, 1] [1, 1, 1] : tensor<4x8xbf16> into tensor<4x8x3xbf16>
// CHECK-NEXT:  %[[Y2:.*]] = tensor.insert_slice %[[R]]#2 into %[[Y1]][0, 0, 2] [4, 8, 1] [1, 1, 1] : tensor<4x8xbf16> into tensor<4x8x3xbf16>
// CHECK-NEXT:  return %[[Y2]]
func.func @quaternion_per_vector(%x: tensor<4x8x3xbf16>, %u: tensor<4x8x3xf32>, %t: tensor<4x8xf32>) -> tensor<4x8x3xbf16> {
  %0 = rotary.quaternion_rotate %x, %u, %t : tensor<4x8x3xbf16>, tensor<4x8x3xf32>, tensor<4x8xf32>
  return %0 : tensor<4x8x3xbf16>
}

// -----

// A shared [3] axis enters the generic as three 0-d broadcast inputs (never
// scalars read outside it: on a GPU the host cannot read the axis), like a
// scalar angle.
// CHECK-LABEL: func.func @quaternion_shared_axis(
// CHECK-SAME:    %[[X:[^:]*]]: tensor<?x3xf32>, %[[U:[^:]*]]: tensor<3xf32>, %[[T:[^:]*]]: tensor<f32>)
// CHECK-NOT:   tensor.extract %
// CHECK-DAG:   %[[X0:.*]] = tensor.extract_slice %[[X]][0, 0] [%{{.*}}, 1] [1, 1] : tensor<?x3xf32> to tensor<?xf32>
// CHECK-DAG:   %[[X1:.*]] = tensor.extract_slice %[[X]][0, 1] [%{{.*}}, 1] [1, 1] : tensor<?x3xf32> to tensor<?xf32>
// CHECK-DAG:   %[[X2:.*]] = tensor.extract_slice %[[X]][0, 2] [%{{.*}}, 1] [1, 1] : tensor<?x3xf32> to tensor<?xf32>
// CHECK-DAG:   %[[U0:.*]] = tensor.extract_slice %[[U]][0] [1] [1] : tensor<3xf32> to tensor<f32>
// CHECK-DAG:   %[[U1:.*]] = tensor.extract_slice %[[U]][1] [1] [1] : tensor<3xf32> to tensor<f32>
// CHECK-DAG:   %[[U2:.*]] = tensor.extract_slice %[[U]][2] [1] [1] : tensor<3xf32> to tensor<f32>
// CHECK:       linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>, affine_map<(d0) -> ()>, affine_map<(d0) -> ()>, affine_map<(d0) -> ()>, affine_map<(d0) -> ()>, affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]} ins(%[[X0]], %[[X1]], %[[X2]], %[[U0]], %[[U1]], %[[U2]], %[[T]] : tensor<?xf32>, tensor<?xf32>, tensor<?xf32>, tensor<f32>, tensor<f32>, tensor<f32>, tensor<f32>)
// CHECK-NEXT:  ^bb0(%{{[^:]*}}: f32, %{{[^:]*}}: f32, %{{[^:]*}}: f32, %[[UX:[^:]*]]: f32,
// CHECK:         arith.mulf %[[UX]], %[[UX]] : f32
// CHECK:         math.sqrt
// CHECK:       tensor.insert_slice %{{.*}}#2 into %{{.*}}[0, 2] [%{{.*}}, 1] [1, 1] : tensor<?xf32> into tensor<?x3xf32>
func.func @quaternion_shared_axis(%x: tensor<?x3xf32>, %u: tensor<3xf32>, %t: tensor<f32>) -> tensor<?x3xf32> {
  %0 = rotary.quaternion_rotate %x, %u, %t : tensor<?x3xf32>, tensor<3xf32>, tensor<f32>
  return %0 : tensor<?x3xf32>
}

// -----

//===----------------------------------------------------------------------===//
// rotary.inv_freq: f_i = (base·s_k)^(−2i/dim), k = i / (dim/2/S), in f64
//===----------------------------------------------------------------------===//

// Four scales over dim/2 = 8 frequencies: groups of 2; ln(base·s_k) is
// selected by the group index; exponent −2/16 = −0.125 per i.
// CHECK-LABEL: func.func @inv_freq_scales(
// CHECK-NOT:   rotary.inv_freq
// CHECK:       %[[R:.*]] = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]} outs(%{{.*}} : tensor<8xf32>)
// CHECK-NEXT:  ^bb0(%{{.*}}: f32):
// CHECK-NEXT:    %[[I:.*]] = linalg.index 0 : index
// CHECK-NEXT:    %[[I64:.*]] = arith.index_castui %[[I]] : index to i64
// CHECK-NEXT:    %[[IF:.*]] = arith.uitofp %[[I64]] : i64 to f64
// CHECK-NEXT:    %[[GROUP:.*]] = arith.constant 2 : index
// CHECK-NEXT:    %[[K:.*]] = arith.divui %[[I]], %[[GROUP]] : index
// ln(1e4) = 9.2103..., ln(2e4), ln(4e4), ln(8e4)
// CHECK-NEXT:    %[[L0:.*]] = arith.constant 9.21034037{{[0-9]*}} : f64
// CHECK-NEXT:    %[[C1:.*]] = arith.constant 1 : index
// CHECK-NEXT:    %[[IS1:.*]] = arith.cmpi eq, %[[K]], %[[C1]] : index
// CHECK-NEXT:    %[[L1:.*]] = arith.constant 9.90348755{{[0-9]*}} : f64
// CHECK-NEXT:    %[[S1:.*]] = arith.select %[[IS1]], %[[L1]], %[[L0]] : f64
// CHECK-NEXT:    %[[C2:.*]] = arith.constant 2 : index
// CHECK-NEXT:    %[[IS2:.*]] = arith.cmpi eq, %[[K]], %[[C2]] : index
// CHECK-NEXT:    %[[L2:.*]] = arith.constant 10.5966347{{[0-9]*}} : f64
// CHECK-NEXT:    %[[S2:.*]] = arith.select %[[IS2]], %[[L2]], %[[S1]] : f64
// CHECK-NEXT:    %[[C3:.*]] = arith.constant 3 : index
// CHECK-NEXT:    %[[IS3:.*]] = arith.cmpi eq, %[[K]], %[[C3]] : index
// CHECK-NEXT:    %[[L3:.*]] = arith.constant 11.2897819{{[0-9]*}} : f64
// CHECK-NEXT:    %[[S3:.*]] = arith.select %[[IS3]], %[[L3]], %[[S2]] : f64
// CHECK-NEXT:    %[[EXPC:.*]] = arith.constant -1.250000e-01 : f64
// CHECK-NEXT:    %[[EXPO:.*]] = arith.mulf %[[IF]], %[[EXPC]] : f64
// CHECK-NEXT:    %[[LOGF:.*]] = arith.mulf %[[EXPO]], %[[S3]] : f64
// CHECK-NEXT:    %[[F:.*]] = math.exp %[[LOGF]] : f64
// CHECK-NEXT:    %[[F32:.*]] = arith.truncf %[[F]] : f64 to f32
// CHECK-NEXT:    linalg.yield %[[F32]] : f32
// CHECK:       return %[[R]] : tensor<8xf32>
func.func @inv_freq_scales() -> tensor<8xf32> {
  %0 = rotary.inv_freq dim = 16 scales = [1.0, 2.0, 4.0, 8.0]
  return %0 : tensor<8xf32>
}

// -----

// One group (no scales): a single ln(base) constant, no select.
// CHECK-LABEL: func.func @inv_freq_base(
// CHECK:       linalg.generic {{.*}} outs(%{{.*}} : tensor<4xf32>)
// CHECK-NOT:     arith.select
// CHECK:         arith.constant 13.1223633{{[0-9]*}} : f64
// CHECK-NOT:     arith.select
// CHECK:         arith.constant -2.500000e-01 : f64
// CHECK-NOT:     arith.select
// CHECK:         math.exp %{{.*}} : f64
// CHECK-NOT:     arith.select
// CHECK:         linalg.yield
func.func @inv_freq_base() -> tensor<4xf32> {
  %0 = rotary.inv_freq dim = 8 base = 5.0e+05
  return %0 : tensor<4xf32>
}

// -----

// so_generator exp with a chunk too large to unroll: one task per matrix,
// scaling and squaring with c×c tensors in loops, in f64, narrowed once.
// CHECK-LABEL: func.func @so_generator_exp_large
// CHECK-NOT: rotary.so_generator
// CHECK: scf.forall
// CHECK: math.exp2
// CHECK: arith.extf %{{.*}} : f32 to f64
// CHECK: scf.for {{.*}} -> (tensor<32x32xf64>, tensor<32x32xf64>)
// CHECK: scf.for {{.*}} -> (tensor<32x32xf64>)
// CHECK: tensor.parallel_insert_slice {{.*}} into {{.*}} : tensor<32x32xf64> into tensor<3x32x32xf64>
// CHECK: arith.truncf %{{.*}} : f64 to f32
func.func @so_generator_exp_large(%a: tensor<3x496xf32>) -> tensor<3x32x32xf32> {
  %0 = rotary.so_generator %a chunk = 32 form = exp : tensor<3x496xf32>
  return %0 : tensor<3x32x32xf32>
}
