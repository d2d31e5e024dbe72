// RUN: rotary-opt %s -rotary-prepare-entry-points | FileCheck %s --enable-var-scope

// rotary-prepare-entry-points (lib/Pipelines/PrepareEntryPoints.cpp): every
// public function @f becomes @f__check (the run-time shape rules, from input
// sizes only) and a destination-passing @f; rotary.checks / rotary.outputs /
// rotary.entry describe them for the manifest.

// The module's entry table: (inputs, outputs) per public function, and
// nothing for the private helper.
// CHECK-LABEL: module attributes {rotary.entry = {
// CHECK-SAME:    chain = array<i64: 3, 1>
// CHECK-SAME:    fam = array<i64: 5, 2>
// CHECK-SAME:    givens_pairs = array<i64: 2, 1>
// CHECK-SAME:    orth_per_head = array<i64: 3, 1>
// CHECK-SAME:    rope = array<i64: 2, 1>
// CHECK-SAME:    rope_batch = array<i64: 3, 1>
// CHECK-SAME:    static_rope = array<i64: 2, 1>
// CHECK-SAME:    }}
// CHECK-NOT:   helper =

//===----------------------------------------------------------------------===//
// rope: positions T vs x T, and an even D when rotary_dim is absent.
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @rope__check(
// CHECK-SAME:    %[[X:[^:]*]]: tensor<?x?x?x?xf32>, %[[P:[^:]*]]: tensor<?xi64>) -> i32 attributes {llvm.emit_c_interface} {
// CHECK-DAG:     %[[OK:.*]] = arith.constant 0 : i32
// CHECK-DAG:     %[[E1:.*]] = arith.constant 1 : i32
// CHECK-DAG:     %[[E2:.*]] = arith.constant 2 : i32
// The check reads the sizes of the inputs (block arguments) only.
// CHECK-NOT:     rotary.
// CHECK-NOT:     tensor.dim %{{[^a]}}
// CHECK:         %[[XT:.*]] = tensor.dim %[[X]], %[[C1:.*]] : tensor<?x?x?x?xf32>
// CHECK-NEXT:    %[[PT:.*]] = tensor.dim %[[P]], %[[C0:.*]] : tensor<?xi64>
// CHECK-NEXT:    %[[R1:.*]] = arith.cmpi eq, %[[PT]], %[[XT]] : index
// CHECK-NEXT:    %[[XD:.*]] = tensor.dim %[[X]], %[[C3:.*]] : tensor<?x?x?x?xf32>
// CHECK-NEXT:    %[[ODD:.*]] = arith.remui %[[XD]], %[[C2:.*]] : index
// CHECK-NEXT:    %[[R2:.*]] = arith.cmpi eq, %[[ODD]], %[[C0]] : index
// The first rule broken wins: select chain from the last rule outwards.
// CHECK-NEXT:    %[[S2:.*]] = arith.select %[[R2]], %[[OK]], %[[E2]] : i32
// CHECK-NEXT:    %[[S1:.*]] = arith.select %[[R1]], %[[S2]], %[[E1]] : i32
// CHECK-NEXT:    return %[[S1]] : i32
// CHECK-NEXT:  }
// The body: inputs read-only, one memref output per result, no results.
// CHECK-LABEL: func.func @rope(
// CHECK-SAME:    %[[X:[^:]*]]: tensor<?x?x?x?xf32> {bufferization.writable = false}, %[[P:[^:]*]]: tensor<?xi64> {bufferization.writable = false}, %[[OUT:[^:]*]]: memref<?x?x?x?xf32>)
// CHECK-NOT:     ->
// CHECK-SAME:    attributes {llvm.emit_c_interface,
// CHECK-SAME:    rotary.checks = ["rotary.rope at loc(\22{{.*}}prepare-entry-points.mlir\22:[[@LINE+9]]:8): operand 'positions' must have shape [T] of operand 'x', but its dimension 0 differs", "rotary.rope at loc(\22{{.*}}prepare-entry-points.mlir\22:[[@LINE+9]]:8): operand 'x' must have an even D (or set 'rotary_dim' to rotate fewer features)"]
// CHECK-SAME:    rotary.entry = array<i64: 2, 1>
// Every output size is [input, dim].
// CHECK-SAME:    rotary.outputs = {{\[\[}}array<i64: 0, 0>, array<i64: 0, 1>, array<i64: 0, 2>, array<i64: 0, 3>]]
// CHECK-NEXT:    %[[Y:.*]] = rotary.rope %[[X]], %[[P]] layout = half
// CHECK-NEXT:    bufferization.materialize_in_destination %[[Y]] in restrict writable %[[OUT]] : (tensor<?x?x?x?xf32>, memref<?x?x?x?xf32>) -> ()
// CHECK-NEXT:    return{{$}}
// CHECK-NEXT:  }
func.func @rope(%x: tensor<?x?x?x?xf32>, %positions: tensor<?xi64>) -> tensor<?x?x?x?xf32> {
  %y = rotary.rope %x, %positions layout = half : tensor<?x?x?x?xf32>, tensor<?xi64>
  return %y : tensor<?x?x?x?xf32>
}

// A private function is not an entry: left as it is.
// CHECK-LABEL: func.func private @helper(%{{.*}}: tensor<4xf32>) -> tensor<4xf32> {
// CHECK-NEXT:    return
// CHECK-NOT:   func.func @helper__check
func.func private @helper(%x: tensor<4xf32>) -> tensor<4xf32> {
  return %x : tensor<4xf32>
}

//===----------------------------------------------------------------------===//
// rope with [B, T] positions, inv_freq and rotary_dim on a dynamic D:
// B, T, rotary_dim <= D, inv_freq has r/2 entries. A static dim stays static
// in rotary.outputs.
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @rope_batch__check(
// CHECK-SAME:    %[[X:[^:]*]]: tensor<?x?x4x?xbf16>, %[[P:[^:]*]]: tensor<?x?xi32>, %[[F:[^:]*]]: tensor<?xf32>) -> i32
// CHECK-NOT:     rotary.
// CHECK-NOT:     tensor.dim %{{[^a]}}
// CHECK:         %[[XB:.*]] = tensor.dim %[[X]], %[[C0:.*]] :
// CHECK-NEXT:    %[[XT:.*]] = tensor.dim %[[X]], %[[C1:.*]] :
// CHECK-NEXT:    %[[PB:.*]] = tensor.dim %[[P]], %[[C0]] :
// CHECK-NEXT:    %[[R1:.*]] = arith.cmpi eq, %[[PB]], %[[XB]] : index
// CHECK-NEXT:    %[[PT:.*]] = tensor.dim %[[P]], %[[C1]] :
// CHECK-NEXT:    %[[R2:.*]] = arith.cmpi eq, %[[PT]], %[[XT]] : index
// CHECK-NEXT:    %[[XD:.*]] = tensor.dim %[[X]], %{{.*}} :
// CHECK-NEXT:    %[[R3:.*]] = arith.cmpi uge, %[[XD]], %[[C8:.*]] : index
// CHECK-NEXT:    %[[FN:.*]] = tensor.dim %[[F]], %[[C0]] :
// CHECK-NEXT:    %[[R4:.*]] = arith.cmpi eq, %[[FN]], %[[C4:.*]] : index
// CHECK-NEXT:    %[[S4:.*]] = arith.select %[[R4]], %{{.*}}, %{{.*}} : i32
// CHECK-NEXT:    %[[S3:.*]] = arith.select %[[R3]], %[[S4]], %{{.*}} : i32
// CHECK-NEXT:    %[[S2:.*]] = arith.select %[[R2]], %[[S3]], %{{.*}} : i32
// CHECK-NEXT:    %[[S1:.*]] = arith.select %[[R1]], %[[S2]], %{{.*}} : i32
// CHECK-NEXT:    return %[[S1]] : i32
// CHECK-LABEL: func.func @rope_batch(
// CHECK-SAME:    %{{.*}}: memref<?x?x4x?xbf16>)
// CHECK-SAME:    rotary.checks = [
// CHECK-SAME:      "rotary.rope at loc(\22{{.*}}prepare-entry-points.mlir\22:[[@LINE+7]]:8): operand 'positions' must have shape [B, T] of operand 'x', but its dimension 0 differs",
// CHECK-SAME:      "rotary.rope at loc({{.*}}): operand 'positions' must have shape [B, T] of operand 'x', but its dimension 1 differs",
// CHECK-SAME:      "rotary.rope at loc({{.*}}): attribute 'rotary_dim' (8) must not exceed D of operand 'x'",
// CHECK-SAME:      "rotary.rope at loc({{.*}}): operand 'inv_freq' must have shape [rotary_dim / 2], but its dimension 0 differs"]
// CHECK-SAME:    rotary.entry = array<i64: 3, 1>
// CHECK-SAME:    rotary.outputs = {{\[\[}}array<i64: 0, 0>, array<i64: 0, 1>, 4, array<i64: 0, 3>]]
func.func @rope_batch(%x: tensor<?x?x4x?xbf16>, %p: tensor<?x?xi32>, %f: tensor<?xf32>) -> tensor<?x?x4x?xbf16> {
  %y = rotary.rope %x, %p inv_freq(%f : tensor<?xf32>) layout = half {rotary_dim = 8 : i64}
      : tensor<?x?x4x?xbf16>, tensor<?x?xi32>
  return %y : tensor<?x?x4x?xbf16>
}

//===----------------------------------------------------------------------===//
// fam_step: momentum and grad like param (momentum first, as the contract
// states them), dim by dim where dynamic; two results, two outputs.
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @fam__check(
// CHECK-SAME:    %[[P:[^:]*]]: tensor<?x4xf32>, %[[G:[^:]*]]: tensor<?x4xf32>, %[[M:[^:]*]]: tensor<?x4xf32>, %{{.*}}: tensor<f32>, %{{.*}}: tensor<f32>) -> i32
// CHECK:         %[[PD:.*]] = tensor.dim %[[P]], %[[C0:.*]] :
// CHECK-NEXT:    %[[MD:.*]] = tensor.dim %[[M]], %[[C0]] :
// CHECK-NEXT:    arith.cmpi eq, %[[MD]], %[[PD]] : index
// CHECK-NEXT:    %[[PD2:.*]] = tensor.dim %[[P]], %[[C0]] :
// CHECK-NEXT:    %[[GD:.*]] = tensor.dim %[[G]], %[[C0]] :
// CHECK-NEXT:    arith.cmpi eq, %[[GD]], %[[PD2]] : index
// Static dim 1 needs no check.
// CHECK-NOT:     tensor.dim
// CHECK:         return
// CHECK-LABEL: func.func @fam(
// CHECK-SAME:    %{{.*}}: tensor<f32> {bufferization.writable = false}, %[[O1:[^:]*]]: memref<?x4xf32>, %[[O2:[^:]*]]: memref<?x4xf32>)
// CHECK-SAME:    rotary.checks = ["rotary.fam_step at loc({{.*}}:[[@LINE+8]]:14): operand 'momentum' must have shape like 'param', but its dimension 0 differs", "rotary.fam_step at loc({{.*}}): operand 'grad' must have shape like 'param', but its dimension 0 differs"]
// CHECK-SAME:    rotary.entry = array<i64: 5, 2>
// CHECK-SAME:    rotary.outputs = {{\[\[}}array<i64: 0, 0>, 4], [array<i64: 0, 0>, 4]]
// CHECK-NEXT:    %[[NP:.*]], %[[NM:.*]] = rotary.fam_step
// CHECK-NEXT:    bufferization.materialize_in_destination %[[NP]] in restrict writable %[[O1]] : (tensor<?x4xf32>, memref<?x4xf32>) -> ()
// CHECK-NEXT:    bufferization.materialize_in_destination %[[NM]] in restrict writable %[[O2]] : (tensor<?x4xf32>, memref<?x4xf32>) -> ()
// CHECK-NEXT:    return{{$}}
func.func @fam(%p: tensor<?x4xf32>, %g: tensor<?x4xf32>, %m: tensor<?x4xf32>, %lr: tensor<f32>, %a: tensor<f32>) -> (tensor<?x4xf32>, tensor<?x4xf32>) {
  %p2, %m2 = rotary.fam_step %p, %g, %m, %lr, %a {weight_decay = 0.01 : f32} : tensor<?x4xf32>, tensor<?x4xf32>
  return %p2, %m2 : tensor<?x4xf32>, tensor<?x4xf32>
}

//===----------------------------------------------------------------------===//
// givens with explicit pairs and per-head angles: H, the angle count and the
// largest pair index against a dynamic D.
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @givens_pairs__check(
// CHECK-SAME:    %[[X:[^:]*]]: tensor<2x?x?xf32>, %[[A:[^:]*]]: tensor<?x?xf32>) -> i32
// CHECK:         %[[XD:.*]] = tensor.dim %[[X]], %[[C2:.*]] :
// CHECK-NEXT:    %[[XH:.*]] = tensor.dim %[[X]], %[[C1:.*]] :
// CHECK-NEXT:    %[[AH:.*]] = tensor.dim %[[A]], %[[C0:.*]] :
// CHECK-NEXT:    %[[R1:.*]] = arith.cmpi eq, %[[AH]], %[[XH]] : index
// CHECK-NEXT:    %[[AN:.*]] = tensor.dim %[[A]], %[[C1]] :
// CHECK-NEXT:    %[[R2:.*]] = arith.cmpi eq, %[[AN]], %[[C3:.*]] : index
// CHECK-NEXT:    %[[R3:.*]] = arith.cmpi ugt, %[[XD]], %[[C5:.*]] : index
// CHECK-LABEL: func.func @givens_pairs(
// CHECK-SAME:    rotary.checks = [
// CHECK-SAME:      "rotary.givens at loc({{.*}}:[[@LINE+5]]:8): operand 'angles' must have shape per-head [H, N] with H of operand 'x', but its dimension 0 differs",
// CHECK-SAME:      "rotary.givens at loc({{.*}}): operand 'angles' must have shape [..., 3], one angle per pair of 'pairs', but its dimension 1 differs",
// CHECK-SAME:      "rotary.givens at loc({{.*}}): 'pairs' index 5 is out of range for D of operand 'x'"]
// CHECK-SAME:    rotary.outputs = {{\[\[}}2, array<i64: 0, 1>, array<i64: 0, 2>]]
func.func @givens_pairs(%x: tensor<2x?x?xf32>, %a: tensor<?x?xf32>) -> tensor<2x?x?xf32> {
  %0 = rotary.givens %x, %a pairs = [(0, 5), (2, 1), (3, 4)] : tensor<2x?x?xf32>, tensor<?x?xf32>
  return %0 : tensor<2x?x?xf32>
}

//===----------------------------------------------------------------------===//
// A chain of two ops: givens (default schedule: even D, N <= D(D-1)/2) then
// orthogonal (contracted size). The orthogonal rule and the output sizes
// are expressed through givens' result down to the inputs; the output's
// last size E comes from the matrix (input 2, dim 1).
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @chain__check(
// CHECK-SAME:    %[[X:[^:]*]]: tensor<?x?xf32>, %[[A:[^:]*]]: tensor<?xf32>, %[[R:[^:]*]]: tensor<?x?xf32>) -> i32
// CHECK-DAG:     %[[CM1:.*]] = arith.constant -1 : index
// CHECK-NOT:     rotary.
// CHECK-NOT:     tensor.dim %{{[^a]}}
// CHECK:         %[[D:.*]] = tensor.dim %[[X]], %[[C1:.*]] :
// CHECK-NEXT:    %[[N:.*]] = tensor.dim %[[A]], %[[C0:.*]] :
// CHECK-NEXT:    %[[REM:.*]] = arith.remui %[[D]], %[[C2:.*]] : index
// CHECK-NEXT:    %[[R1:.*]] = arith.cmpi eq, %[[REM]], %[[C0]] : index
// D - 1 is D + (-1).
// CHECK-NEXT:    %[[DM1:.*]] = arith.addi %[[D]], %[[CM1]] : index
// CHECK-NEXT:    %[[DD:.*]] = arith.muli %[[D]], %[[DM1]] : index
// CHECK-NEXT:    %[[TOT:.*]] = arith.divui %[[DD]], %[[C2]] : index
// CHECK-NEXT:    %[[R2:.*]] = arith.cmpi ule, %[[N]], %[[TOT]] : index
// Orthogonal's x is givens' result: its D is x's D.
// CHECK-NEXT:    %[[D2:.*]] = tensor.dim %[[X]], %[[C1]] :
// CHECK-NEXT:    %[[RD:.*]] = tensor.dim %[[R]], %[[C0]] :
// CHECK-NEXT:    %[[R3:.*]] = arith.cmpi eq, %[[RD]], %[[D2]] : index
// CHECK-NOT:     rotary.
// CHECK:         return
// CHECK-LABEL: func.func @chain(
// CHECK-SAME:    rotary.checks = [
// CHECK-SAME:      "rotary.givens at loc({{.*}}:[[@LINE+8]]:8): the default round-robin schedule needs an even D of operand 'x' (or give 'pairs')",
// CHECK-SAME:      "rotary.givens at loc({{.*}}:[[@LINE+7]]:8): operand 'angles' must have at most D(D-1)/2 angles (the round-robin schedule)",
// CHECK-SAME:      "rotary.orthogonal at loc({{.*}}:[[@LINE+7]]:8): operand 'matrix' must have shape [D, E] with D of operand 'x', but its dimension 0 differs"]
// CHECK-SAME:    rotary.outputs = {{\[\[}}array<i64: 0, 0>, array<i64: 2, 1>]]
// CHECK-NEXT:    %[[G:.*]] = rotary.givens
// CHECK-NEXT:    %[[Y:.*]] = rotary.orthogonal %[[G]]
// CHECK-NEXT:    bufferization.materialize_in_destination %[[Y]] in restrict writable
func.func @chain(%x: tensor<?x?xf32>, %a: tensor<?xf32>, %r: tensor<?x?xf32>) -> tensor<?x?xf32> {
  %0 = rotary.givens %x, %a : tensor<?x?xf32>, tensor<?xf32>
  %1 = rotary.orthogonal %0, %r : tensor<?x?xf32>, tensor<?x?xf32>
  return %1 : tensor<?x?xf32>
}

//===----------------------------------------------------------------------===//
// Per-head orthogonal with transpose: H of the matrix against x's H, then
// the contracted size; with transpose E is the matrix's dim 1 and the
// contracted size its dim 2.
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @orth_per_head__check(
// CHECK-SAME:    %[[X:[^:]*]]: tensor<?x?x?xf32>, %[[R:[^:]*]]: tensor<?x?x?xf32>, %{{.*}}: tensor<?x?xf32>) -> i32
// CHECK:         %[[XD:.*]] = tensor.dim %[[X]], %[[C2:.*]] :
// CHECK-NEXT:    %[[XH:.*]] = tensor.dim %[[X]], %[[C1:.*]] :
// CHECK-NEXT:    %[[RH:.*]] = tensor.dim %[[R]], %[[C0:.*]] :
// CHECK-NEXT:    arith.cmpi eq, %[[RH]], %[[XH]] : index
// CHECK-NEXT:    %[[RD:.*]] = tensor.dim %[[R]], %[[C2]] :
// CHECK-NEXT:    arith.cmpi eq, %[[RD]], %[[XD]] : index
// CHECK-LABEL: func.func @orth_per_head(
// CHECK-SAME:    rotary.checks = [
// CHECK-SAME:      "rotary.orthogonal at loc({{.*}}): operand 'matrix' must have shape per-head [H, E, D] with H, D of operand 'x', but its dimension 0 differs",
// CHECK-SAME:      "rotary.orthogonal at loc({{.*}}): operand 'matrix' must have shape per-head [H, E, D] with H, D of operand 'x', but its dimension 2 differs"]
// CHECK-SAME:    rotary.outputs = {{\[\[}}array<i64: 0, 0>, array<i64: 0, 1>, array<i64: 1, 1>]]
func.func @orth_per_head(%x: tensor<?x?x?xf32>, %r: tensor<?x?x?xf32>, %unused: tensor<?x?xf32>) -> tensor<?x?x?xf32> {
  %0 = rotary.orthogonal %x, %r {transpose} : tensor<?x?x?xf32>, tensor<?x?x?xf32>
  return %0 : tensor<?x?x?xf32>
}

//===----------------------------------------------------------------------===//
// All static: no rule is left for the run time, the check returns 0 and
// every output size is a constant.
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @static_rope__check(
// CHECK-SAME:    -> i32 attributes {llvm.emit_c_interface} {
// CHECK-NEXT:    %[[Z:.*]] = arith.constant 0 : i32
// CHECK-NEXT:    return %[[Z]] : i32
// CHECK-LABEL: func.func @static_rope(
// CHECK-SAME:    %{{.*}}: memref<2x8x4x16xf32>)
// CHECK-SAME:    rotary.checks = []
// CHECK-SAME:    rotary.outputs = {{\[\[}}2, 8, 4, 16]]
func.func @static_rope(%x: tensor<2x8x4x16xf32>, %p: tensor<8xi64>) -> tensor<2x8x4x16xf32> {
  %y = rotary.rope %x, %p layout = half : tensor<2x8x4x16xf32>, tensor<8xi64>
  return %y : tensor<2x8x4x16xf32>
}

//===----------------------------------------------------------------------===//
// A call of another entry (as @f_bwd calls @f_fwd and @f_vjp): the caller's
// check holds the callee's rules once per call, its output sizes come
// through the calls, and, the callee being destination-passing now, the
// caller allocates the inner result and passes its own output for the
// result it returns.
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @rope_twice__check(
// CHECK-SAME:    %[[X:[^:]*]]: tensor<?x?x?x?xf32>, %[[P:[^:]*]]: tensor<?xi64>) -> i32
// CHECK-NOT:     call
// CHECK-NOT:     rotary.
// CHECK-COUNT-2: arith.cmpi eq, %{{.*}}, %{{.*}} : index
// CHECK-COUNT-2: arith.cmpi eq, %{{.*}}, %{{.*}} : index
// CHECK-NOT:     call
// CHECK:         return
// CHECK-LABEL: func.func @rope_twice(
// CHECK-SAME:    %[[X:[^:]*]]: tensor<?x?x?x?xf32> {bufferization.writable = false}, %[[P:[^:]*]]: tensor<?xi64> {bufferization.writable = false}, %[[OUT:[^:]*]]: memref<?x?x?x?xf32>)
// CHECK-SAME:    rotary.checks = ["rotary.rope at {{.*}}: operand 'positions' {{.*}}", "rotary.rope at {{.*}}: operand 'x' must have an even D {{.*}}", "rotary.rope at {{.*}}: operand 'positions' {{.*}}", "rotary.rope at {{.*}}: operand 'x' must have an even D {{.*}}"]
// CHECK-SAME:    rotary.outputs = {{\[\[}}array<i64: 0, 0>, array<i64: 0, 1>, array<i64: 0, 2>, array<i64: 0, 3>]]
// CHECK-DAG:     %[[D0:.*]] = tensor.dim %[[X]], %{{.*}}
// CHECK-DAG:     %[[D1:.*]] = tensor.dim %[[X]], %{{.*}}
// CHECK-DAG:     %[[D2:.*]] = tensor.dim %[[X]], %{{.*}}
// CHECK-DAG:     %[[D3:.*]] = tensor.dim %[[X]], %{{.*}}
// CHECK:         %[[BUF:.*]] = memref.alloc(%[[D0]], %[[D1]], %[[D2]], %[[D3]]) : memref<?x?x?x?xf32>
// CHECK-NEXT:    call @rope(%[[X]], %[[P]], %[[BUF]]) : (tensor<?x?x?x?xf32>, tensor<?xi64>, memref<?x?x?x?xf32>) -> ()
// CHECK-NEXT:    %[[Y:.*]] = bufferization.to_tensor %[[BUF]] restrict writable
// CHECK-NEXT:    call @rope(%[[Y]], %[[P]], %[[OUT]]) : (tensor<?x?x?x?xf32>, tensor<?xi64>, memref<?x?x?x?xf32>) -> ()
// CHECK-NOT:     bufferization.materialize_in_destination
// CHECK-NEXT:    return{{$}}
func.func @rope_twice(%x: tensor<?x?x?x?xf32>, %positions: tensor<?xi64>) -> tensor<?x?x?x?xf32> {
  %y = call @rope(%x, %positions) : (tensor<?x?x?x?xf32>, tensor<?xi64>) -> tensor<?x?x?x?xf32>
  %z = call @rope(%y, %positions) : (tensor<?x?x?x?xf32>, tensor<?xi64>) -> tensor<?x?x?x?xf32>
  return %z : tensor<?x?x?x?xf32>
}
