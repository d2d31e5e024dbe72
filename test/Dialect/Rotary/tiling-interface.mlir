// RUN: rotary-opt %s -transform-interpreter -split-input-file -mlir-print-local-scope | FileCheck %s --enable-var-scope
// RUN: rotary-opt %s -transform-interpreter -rotary-tile-and-decompose=tile=false -split-input-file | FileCheck %s --check-prefix=DECOMPOSED

// TilingInterface of rotary.online_attention, driven by a schedule written
// in the transform dialect (any TilingInterface driver works the same way):
// a tile is the same op on slices. q, the outputs and a full bias are cut
// on (b, h, i); k and v on (b, h); a bias table and the span on h; the
// first position moves by the tile's first row. Decomposing the tiles
// afterwards (tile=false: no second tiling) leaves no rotary op.

// CHECK-LABEL: func.func @tile_queries(
// CHECK-SAME:    %[[Q:[^:]*]]: tensor<1x2x100x8xf32>, %[[K:[^:]*]]: tensor<1x2x90x8xf32>, %[[B:[^:]*]]: tensor<2x100x90xf32>, %[[S:[^:]*]]: tensor<2xf32>, %[[P:[^:]*]]: index, %[[O:[^:]*]]: tensor<1x2x100x8xf32>, %[[L:[^:]*]]: tensor<1x2x100xf32>)
// CHECK:       scf.forall (%[[BI:[a-z0-9_]+]], %[[HI:[a-z0-9_]+]], %[[IT:[a-z0-9_]+]]) in (1, 2, 4) shared_outs(%[[OA:[a-z0-9_]+]] = %[[O]], %[[LA:[a-z0-9_]+]] = %[[L]])
// CHECK-DAG:     %[[I0:.*]] = affine.apply affine_map<(d0) -> (d0 * 32)>(%[[IT]])
// CHECK-DAG:     %[[ROWS:.*]] = affine.min affine_map<(d0) -> (-d0 + 100, 32)>(%[[I0]])
// CHECK-DAG:     %[[QS:.*]] = tensor.extract_slice %[[Q]][%[[BI]], %[[HI]], %[[I0]], 0] [1, 1, %[[ROWS]], 8] [1, 1, 1, 1] : tensor<1x2x100x8xf32> to tensor<1x1x?x8xf32>
// CHECK-DAG:     %[[KS:.*]] = tensor.extract_slice %[[K]][%[[BI]], %[[HI]], 0, 0] [1, 1, 90, 8] [1, 1, 1, 1] : tensor<1x2x90x8xf32> to tensor<1x1x90x8xf32>
// CHECK-DAG:     %[[BS:.*]] = tensor.extract_slice %[[B]][%[[HI]], %[[I0]], 0] [1, %[[ROWS]], 90] [1, 1, 1] : tensor<2x100x90xf32> to tensor<1x?x90xf32>
// CHECK-DAG:     %[[SS:.*]] = tensor.extract_slice %[[S]][%[[HI]]] [1] [1] : tensor<2xf32> to tensor<1xf32>
// CHECK-DAG:     %[[OS:.*]] = tensor.extract_slice %[[OA]][%[[BI]], %[[HI]], %[[I0]], 0] [1, 1, %[[ROWS]], 8] [1, 1, 1, 1]
// CHECK-DAG:     %[[LS:.*]] = tensor.extract_slice %[[LA]][%[[BI]], %[[HI]], %[[I0]]] [1, 1, %[[ROWS]]] [1, 1, 1]
// CHECK-DAG:     %[[FIRST:.*]] = arith.addi %[[P]], %[[I0]] : index
// CHECK:         %[[RO:[a-z0-9_]+]], %[[RL:[a-z0-9_]+]] = rotary.online_attention ins(%[[QS]], %[[KS]], %{{.*}} : tensor<1x1x?x8xf32>, tensor<1x1x90x8xf32>, tensor<1x1x90x8xf32>) bias(%[[BS]] : tensor<1x?x90xf32>) span(%[[SS]] : tensor<1xf32>) first_position(%[[FIRST]]) outs(%[[OS]], %[[LS]] : tensor<1x1x?x8xf32>, tensor<1x1x?xf32>) {causal, rotary.tiles = {key = 16 : i64, query = 32 : i64}, span_ramp = 4.000000e+00 : f32}
// CHECK:         scf.forall.in_parallel {
// CHECK-NEXT:      tensor.parallel_insert_slice %[[RO]] into %[[OA]][%[[BI]], %[[HI]], %[[I0]], 0] [1, 1, %[[ROWS]], 8] [1, 1, 1, 1]
// CHECK-NEXT:      tensor.parallel_insert_slice %[[RL]] into %[[LA]][%[[BI]], %[[HI]], %[[I0]]] [1, 1, %[[ROWS]]] [1, 1, 1]
// DECOMPOSED-LABEL: func.func @tile_queries(
// DECOMPOSED:       scf.forall
// DECOMPOSED-NOT:   rotary.
// DECOMPOSED:       scf.for
// DECOMPOSED-NOT:   rotary.
// DECOMPOSED:       return
func.func @tile_queries(%q: tensor<1x2x100x8xf32>, %k: tensor<1x2x90x8xf32>, %b: tensor<2x100x90xf32>, %s: tensor<2xf32>, %p: index, %o: tensor<1x2x100x8xf32>, %l: tensor<1x2x100xf32>) -> (tensor<1x2x100x8xf32>, tensor<1x2x100xf32>) {
  %0:2 = rotary.online_attention ins(%q, %k, %k : tensor<1x2x100x8xf32>, tensor<1x2x90x8xf32>, tensor<1x2x90x8xf32>) bias(%b : tensor<2x100x90xf32>) span(%s : tensor<2xf32>) first_position(%p) outs(%o, %l : tensor<1x2x100x8xf32>, tensor<1x2x100xf32>) {causal, span_ramp = 4.0 : f32, rotary.tiles = {query = 32 : i64, key = 16 : i64}} -> tensor<1x2x100x8xf32>, tensor<1x2x100xf32>
  return %0#0, %0#1 : tensor<1x2x100x8xf32>, tensor<1x2x100xf32>
}
module attributes {transform.with_named_sequence} {
  transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {
    %a = transform.structured.match ops{["rotary.online_attention"]} in %root : (!transform.any_op) -> !transform.any_op
    %tiled, %loop = transform.structured.tile_using_forall %a tile_sizes [1, 1, 32] : (!transform.any_op) -> (!transform.any_op, !transform.any_op)
    transform.yield
  }
}

// -----

// Heads only (a tile of 0 leaves a dimension whole): a bias table is cut on
// h, the first position stays.
// CHECK-LABEL: func.func @tile_heads(
// CHECK-SAME:    %[[Q:[^:]*]]: tensor<2x6x5x4xbf16>, %[[B:[^:]*]]: tensor<6x9xf32>, %[[P:[^:]*]]: index,
// CHECK:       scf.forall (%[[HI:[a-z0-9_]+]]) in (3)
// CHECK:         %[[H0:.*]] = affine.apply affine_map<(d0) -> (d0 * 2)>(%[[HI]])
// CHECK-DAG:        %[[QS:.*]] = tensor.extract_slice %[[Q]][0, %[[H0]], 0, 0] [2, 2, 5, 4] [1, 1, 1, 1] : tensor<2x6x5x4xbf16> to tensor<2x2x5x4xbf16>
// CHECK-DAG:        %[[BS:.*]] = tensor.extract_slice %[[B]][%[[H0]], 0] [2, 9] [1, 1] : tensor<6x9xf32> to tensor<2x9xf32>
// CHECK:         rotary.online_attention ins(%[[QS]], {{.*}}) bias(%[[BS]] : tensor<2x9xf32>) first_position(%[[P]]) outs({{.*}} : tensor<2x2x5x4xbf16>, tensor<2x2x5xf32>) {rotary.tiles = {key = 2 : i64, query = 2 : i64}, window = 1 : i64}
// DECOMPOSED-LABEL: func.func @tile_heads(
// DECOMPOSED-NOT:   rotary.
// DECOMPOSED:       return
func.func @tile_heads(%q: tensor<2x6x5x4xbf16>, %b: tensor<6x9xf32>, %p: index, %o: tensor<2x6x5x4xbf16>, %l: tensor<2x6x5xf32>) -> tensor<2x6x5x4xbf16> {
  %0:2 = rotary.online_attention ins(%q, %q, %q : tensor<2x6x5x4xbf16>, tensor<2x6x5x4xbf16>, tensor<2x6x5x4xbf16>) bias(%b : tensor<6x9xf32>) first_position(%p) outs(%o, %l : tensor<2x6x5x4xbf16>, tensor<2x6x5xf32>) {window = 1 : i64, rotary.tiles = {query = 2 : i64, key = 2 : i64}} -> tensor<2x6x5x4xbf16>, tensor<2x6x5xf32>
  return %0#0 : tensor<2x6x5x4xbf16>
}
module attributes {transform.with_named_sequence} {
  transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {
    %a = transform.structured.match ops{["rotary.online_attention"]} in %root : (!transform.any_op) -> !transform.any_op
    %tiled, %loop = transform.structured.tile_using_forall %a tile_sizes [0, 2, 0] : (!transform.any_op) -> (!transform.any_op, !transform.any_op)
    transform.yield
  }
}

// -----

// The gradient's query pass over (h, i): every batch entry of q, ȯ, lse, δ
// and q̄; k and v on h; a full bias and the partials on (h, i).
// CHECK-LABEL: func.func @tile_query_grad(
// CHECK-SAME:    %[[Q:[^:]*]]: tensor<2x3x40x4xf32>, %[[K:[^:]*]]: tensor<2x3x50x4xf32>, %[[L:[^:]*]]: tensor<2x3x40xf32>, %[[B:[^:]*]]: tensor<3x40x50xf32>, %[[S:[^:]*]]: tensor<3xf32>, %[[P:[^:]*]]: index, %[[DB:[^:]*]]: tensor<3x40x50xf32>, %[[DS:[^:]*]]: tensor<3x40xf32>)
// CHECK:       scf.forall (%[[HI:[a-z0-9_]+]], %[[IT:[a-z0-9_]+]]) in (3, 3) shared_outs(%[[DQA:[a-z0-9_]+]] = %[[Q]], %[[DBA:[a-z0-9_]+]] = %[[DB]], %[[DSA:[a-z0-9_]+]] = %[[DS]])
// CHECK:         %[[I0:.*]] = affine.apply affine_map<(d0) -> (d0 * 16)>(%[[IT]])
// CHECK:         %[[ROWS:.*]] = affine.min affine_map<(d0) -> (-d0 + 40, 16)>(%[[I0]])
// CHECK-DAG:        %[[QS:.*]] = tensor.extract_slice %[[Q]][0, %[[HI]], %[[I0]], 0] [2, 1, %[[ROWS]], 4] [1, 1, 1, 1]
// CHECK-DAG:        %[[KS:.*]] = tensor.extract_slice %[[K]][0, %[[HI]], 0, 0] [2, 1, 50, 4] [1, 1, 1, 1]
// CHECK-DAG:        %[[LS:.*]] = tensor.extract_slice %[[L]][0, %[[HI]], %[[I0]]] [2, 1, %[[ROWS]]] [1, 1, 1]
// CHECK-DAG:        %[[BS:.*]] = tensor.extract_slice %[[B]][%[[HI]], %[[I0]], 0] [1, %[[ROWS]], 50] [1, 1, 1]
// CHECK-DAG:        %[[SS:.*]] = tensor.extract_slice %[[S]][%[[HI]]] [1] [1]
// CHECK-DAG:        %[[FIRST:.*]] = arith.addi %[[P]], %[[I0]] : index
// CHECK-DAG:        %[[DQS:.*]] = tensor.extract_slice %[[DQA]][0, %[[HI]], %[[I0]], 0] [2, 1, %[[ROWS]], 4] [1, 1, 1, 1]
// CHECK-DAG:        %[[DBS:.*]] = tensor.extract_slice %[[DBA]][%[[HI]], %[[I0]], 0] [1, %[[ROWS]], 50] [1, 1, 1]
// CHECK-DAG:        %[[DSS:.*]] = tensor.extract_slice %[[DSA]][%[[HI]], %[[I0]]] [1, %[[ROWS]]] [1, 1]
// CHECK:         %[[R:.*]]:3 = rotary.online_attention_query_grad ins(%[[QS]], %[[KS]], %{{.*}}, %{{.*}}, %[[LS]], %{{.*}} : tensor<2x1x?x4xf32>, tensor<2x1x50x4xf32>, tensor<2x1x50x4xf32>, tensor<2x1x?xf32>) bias(%[[BS]] : tensor<1x?x50xf32>) span(%[[SS]] : tensor<1xf32>) first_position(%[[FIRST]]) outs(%[[DQS]], %[[DBS]], %[[DSS]] : tensor<2x1x?x4xf32>, tensor<1x?x50xf32>, tensor<1x?xf32>)
// CHECK:         scf.forall.in_parallel {
// CHECK-NEXT:      tensor.parallel_insert_slice %[[R]]#0 into %[[DQA]][0, %[[HI]], %[[I0]], 0] [2, 1, %[[ROWS]], 4] [1, 1, 1, 1]
// CHECK-NEXT:      tensor.parallel_insert_slice %[[R]]#1 into %[[DBA]][%[[HI]], %[[I0]], 0] [1, %[[ROWS]], 50] [1, 1, 1]
// CHECK-NEXT:      tensor.parallel_insert_slice %[[R]]#2 into %[[DSA]][%[[HI]], %[[I0]]] [1, %[[ROWS]]] [1, 1]
// DECOMPOSED-LABEL: func.func @tile_query_grad(
// DECOMPOSED-NOT:   rotary.
// DECOMPOSED:       return
func.func @tile_query_grad(%q: tensor<2x3x40x4xf32>, %k: tensor<2x3x50x4xf32>, %lse: tensor<2x3x40xf32>, %b: tensor<3x40x50xf32>, %s: tensor<3xf32>, %p: index, %db: tensor<3x40x50xf32>, %ds: tensor<3x40xf32>) -> tensor<2x3x40x4xf32> {
  %0:3 = rotary.online_attention_query_grad ins(%q, %k, %k, %q, %lse, %lse : tensor<2x3x40x4xf32>, tensor<2x3x50x4xf32>, tensor<2x3x50x4xf32>, tensor<2x3x40xf32>) bias(%b : tensor<3x40x50xf32>) span(%s : tensor<3xf32>) first_position(%p) outs(%q, %db, %ds : tensor<2x3x40x4xf32>, tensor<3x40x50xf32>, tensor<3x40xf32>) {causal, span_ramp = 4.0 : f32, rotary.tiles = {query = 16 : i64, key = 8 : i64}} -> tensor<2x3x40x4xf32>, tensor<3x40x50xf32>, tensor<3x40xf32>
  return %0#0 : tensor<2x3x40x4xf32>
}
module attributes {transform.with_named_sequence} {
  transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {
    %a = transform.structured.match ops{["rotary.online_attention_query_grad"]} in %root : (!transform.any_op) -> !transform.any_op
    %tiled, %loop = transform.structured.tile_using_forall %a tile_sizes [1, 16] : (!transform.any_op) -> (!transform.any_op, !transform.any_op)
    transform.yield
  }
}

// -----

// The key pass over (b, h, j): k, v, k̄, v̄ on (b, h, j); q, ȯ, lse, δ on
// (b, h); a full bias on (h, every query, j); first_key moves by j.
// CHECK-LABEL: func.func @tile_key_grad(
// CHECK-SAME:    %[[Q:[^:]*]]: tensor<2x3x40x4xf32>, %[[K:[^:]*]]: tensor<2x3x50x4xf32>, %[[L:[^:]*]]: tensor<2x3x40xf32>, %[[B:[^:]*]]: tensor<3x40x50xf32>, %[[P:[^:]*]]: index, %[[J:[^:]*]]: index)
// CHECK:       scf.forall (%[[BI:[a-z0-9_]+]], %[[HI:[a-z0-9_]+]], %[[JT:[a-z0-9_]+]]) in (2, 3, 4) shared_outs(%[[DKA:[a-z0-9_]+]] = %[[K]], %[[DVA:[a-z0-9_]+]] = %[[K]])
// CHECK:         %[[J0:.*]] = affine.apply affine_map<(d0) -> (d0 * 16)>(%[[JT]])
// CHECK:         %[[COLS:.*]] = affine.min affine_map<(d0) -> (-d0 + 50, 16)>(%[[J0]])
// CHECK-DAG:        %[[QS:.*]] = tensor.extract_slice %[[Q]][%[[BI]], %[[HI]], 0, 0] [1, 1, 40, 4] [1, 1, 1, 1]
// CHECK-DAG:        %[[KS:.*]] = tensor.extract_slice %[[K]][%[[BI]], %[[HI]], %[[J0]], 0] [1, 1, %[[COLS]], 4] [1, 1, 1, 1]
// CHECK-DAG:        %[[LS:.*]] = tensor.extract_slice %[[L]][%[[BI]], %[[HI]], 0] [1, 1, 40] [1, 1, 1]
// CHECK-DAG:        %[[BS:.*]] = tensor.extract_slice %[[B]][%[[HI]], 0, %[[J0]]] [1, 40, %[[COLS]]] [1, 1, 1]
// CHECK-DAG:        %[[FK:.*]] = arith.addi %[[J]], %[[J0]] : index
// CHECK:         rotary.online_attention_key_grad ins(%[[QS]], %[[KS]], %{{.*}}, %{{.*}}, %[[LS]], %{{.*}} : tensor<1x1x40x4xf32>, tensor<1x1x?x4xf32>, tensor<1x1x?x4xf32>, tensor<1x1x40xf32>) bias(%[[BS]] : tensor<1x40x?xf32>) first_position(%[[P]]) first_key(%[[FK]]) outs({{.*}} : tensor<1x1x?x4xf32>, tensor<1x1x?x4xf32>)
// DECOMPOSED-LABEL: func.func @tile_key_grad(
// DECOMPOSED-NOT:   rotary.
// DECOMPOSED:       return
func.func @tile_key_grad(%q: tensor<2x3x40x4xf32>, %k: tensor<2x3x50x4xf32>, %lse: tensor<2x3x40xf32>, %b: tensor<3x40x50xf32>, %p: index, %j: index) -> tensor<2x3x50x4xf32> {
  %0:2 = rotary.online_attention_key_grad ins(%q, %k, %k, %q, %lse, %lse : tensor<2x3x40x4xf32>, tensor<2x3x50x4xf32>, tensor<2x3x50x4xf32>, tensor<2x3x40xf32>) bias(%b : tensor<3x40x50xf32>) first_position(%p) first_key(%j) outs(%k, %k : tensor<2x3x50x4xf32>, tensor<2x3x50x4xf32>) {window = 3 : i64, rotary.tiles = {query = 16 : i64, key = 8 : i64}} -> tensor<2x3x50x4xf32>, tensor<2x3x50x4xf32>
  return %0#1 : tensor<2x3x50x4xf32>
}
module attributes {transform.with_named_sequence} {
  transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {
    %a = transform.structured.match ops{["rotary.online_attention_key_grad"]} in %root : (!transform.any_op) -> !transform.any_op
    %tiled, %loop = transform.structured.tile_using_forall %a tile_sizes [1, 1, 16] : (!transform.any_op) -> (!transform.any_op, !transform.any_op)
    transform.yield
  }
}

// -----

// The fused gradient over (b, h): with a bias table and a span, b is a
// reduction (their partials sum over the batch), so a tile takes every
// batch entry of its heads; the bias, the span and the partials are cut on
// h, positions stay.
// CHECK-LABEL: func.func @tile_fused_grad_partials(
// CHECK-SAME:    %[[Q:[^:]*]]: tensor<2x3x40x4xf32>, %[[K:[^:]*]]: tensor<2x3x50x4xf32>, %[[L:[^:]*]]: tensor<2x3x40xf32>, %[[B:[^:]*]]: tensor<3x9xf32>, %[[S:[^:]*]]: tensor<3xf32>, %[[P:[^:]*]]: index, %[[DB:[^:]*]]: tensor<3x40x9xf32>, %[[DS:[^:]*]]: tensor<3x40xf32>)
// CHECK:       scf.forall (%[[HI:[a-z0-9_]+]]) in (3) shared_outs(%[[DQA:[a-z0-9_]+]] = %[[Q]], %[[DKA:[a-z0-9_]+]] = %[[K]], %[[DVA:[a-z0-9_]+]] = %[[K]], %[[DBA:[a-z0-9_]+]] = %[[DB]], %[[DSA:[a-z0-9_]+]] = %[[DS]])
// CHECK-DAG:        %[[QS:.*]] = tensor.extract_slice %[[Q]][0, %[[HI]], 0, 0] [2, 1, 40, 4] [1, 1, 1, 1]
// CHECK-DAG:        %[[KS:.*]] = tensor.extract_slice %[[K]][0, %[[HI]], 0, 0] [2, 1, 50, 4] [1, 1, 1, 1]
// CHECK-DAG:        %[[LS:.*]] = tensor.extract_slice %[[L]][0, %[[HI]], 0] [2, 1, 40] [1, 1, 1]
// CHECK-DAG:        %[[BS:.*]] = tensor.extract_slice %[[B]][%[[HI]], 0] [1, 9] [1, 1]
// CHECK-DAG:        %[[SS:.*]] = tensor.extract_slice %[[S]][%[[HI]]] [1] [1]
// CHECK-DAG:        %[[DBS:.*]] = tensor.extract_slice %[[DBA]][%[[HI]], 0, 0] [1, 40, 9] [1, 1, 1]
// CHECK-DAG:        %[[DSS:.*]] = tensor.extract_slice %[[DSA]][%[[HI]], 0] [1, 40] [1, 1]
// CHECK:         %[[R:.*]]:5 = rotary.online_attention_grad ins(%[[QS]], %[[KS]], %{{.*}}, %{{.*}}, %[[LS]], %{{.*}} : tensor<2x1x40x4xf32>, tensor<2x1x50x4xf32>, tensor<2x1x50x4xf32>, tensor<2x1x40xf32>) bias(%[[BS]] : tensor<1x9xf32>) span(%[[SS]] : tensor<1xf32>) first_position(%[[P]]) outs(%{{.*}}, %{{.*}}, %{{.*}}, %[[DBS]], %[[DSS]] : tensor<2x1x40x4xf32>, tensor<2x1x50x4xf32>, tensor<2x1x50x4xf32>, tensor<1x40x9xf32>, tensor<1x40xf32>)
// CHECK:         scf.forall.in_parallel {
// CHECK-NEXT:      tensor.parallel_insert_slice %[[R]]#0 into %[[DQA]][0, %[[HI]], 0, 0] [2, 1, 40, 4] [1, 1, 1, 1]
// CHECK-NEXT:      tensor.parallel_insert_slice %[[R]]#1 into %[[DKA]][0, %[[HI]], 0, 0] [2, 1, 50, 4] [1, 1, 1, 1]
// CHECK-NEXT:      tensor.parallel_insert_slice %[[R]]#2 into %[[DVA]][0, %[[HI]], 0, 0] [2, 1, 50, 4] [1, 1, 1, 1]
// CHECK-NEXT:      tensor.parallel_insert_slice %[[R]]#3 into %[[DBA]][%[[HI]], 0, 0] [1, 40, 9] [1, 1, 1]
// CHECK-NEXT:      tensor.parallel_insert_slice %[[R]]#4 into %[[DSA]][%[[HI]], 0] [1, 40] [1, 1]
// DECOMPOSED-LABEL: func.func @tile_fused_grad_partials(
// DECOMPOSED-NOT:   rotary.
// DECOMPOSED:       return
func.func @tile_fused_grad_partials(%q: tensor<2x3x40x4xf32>, %k: tensor<2x3x50x4xf32>, %lse: tensor<2x3x40xf32>, %b: tensor<3x9xf32>, %s: tensor<3xf32>, %p: index, %db: tensor<3x40x9xf32>, %ds: tensor<3x40xf32>) -> tensor<3x40x9xf32> {
  %0:5 = rotary.online_attention_grad ins(%q, %k, %k, %q, %lse, %lse : tensor<2x3x40x4xf32>, tensor<2x3x50x4xf32>, tensor<2x3x50x4xf32>, tensor<2x3x40xf32>) bias(%b : tensor<3x9xf32>) span(%s : tensor<3xf32>) first_position(%p) outs(%q, %k, %k, %db, %ds : tensor<2x3x40x4xf32>, tensor<2x3x50x4xf32>, tensor<2x3x50x4xf32>, tensor<3x40x9xf32>, tensor<3x40xf32>) {causal, window = 4 : i64, span_ramp = 4.0 : f32, rotary.tiles = {query = 16 : i64, key = 8 : i64}} -> tensor<2x3x40x4xf32>, tensor<2x3x50x4xf32>, tensor<2x3x50x4xf32>, tensor<3x40x9xf32>, tensor<3x40xf32>
  return %0#3 : tensor<3x40x9xf32>
}
module attributes {transform.with_named_sequence} {
  transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {
    %a = transform.structured.match ops{["rotary.online_attention_grad"]} in %root : (!transform.any_op) -> !transform.any_op
    %tiled, %loop = transform.structured.tile_using_forall %a tile_sizes [0, 1] : (!transform.any_op) -> (!transform.any_op, !transform.any_op)
    transform.yield
  }
}

// -----

// Without partials, one (b, h) per tile: every tensor cut on (b, h).
// CHECK-LABEL: func.func @tile_fused_grad(
// CHECK-SAME:    %[[Q:[^:]*]]: tensor<2x3x40x4xf32>, %[[K:[^:]*]]: tensor<2x3x50x4xf32>, %[[L:[^:]*]]: tensor<2x3x40xf32>, %[[P:[^:]*]]: index)
// CHECK:       scf.forall (%[[BI:[a-z0-9_]+]], %[[HI:[a-z0-9_]+]]) in (2, 3) shared_outs(%[[DQA:[a-z0-9_]+]] = %[[Q]], %[[DKA:[a-z0-9_]+]] = %[[K]], %[[DVA:[a-z0-9_]+]] = %[[K]])
// CHECK-DAG:        %[[QS:.*]] = tensor.extract_slice %[[Q]][%[[BI]], %[[HI]], 0, 0] [1, 1, 40, 4] [1, 1, 1, 1]
// CHECK-DAG:        %[[KS:.*]] = tensor.extract_slice %[[K]][%[[BI]], %[[HI]], 0, 0] [1, 1, 50, 4] [1, 1, 1, 1]
// CHECK-DAG:        %[[LS:.*]] = tensor.extract_slice %[[L]][%[[BI]], %[[HI]], 0] [1, 1, 40] [1, 1, 1]
// CHECK:         %[[R:.*]]:3 = rotary.online_attention_grad ins(%[[QS]], %[[KS]], %{{.*}}, %{{.*}}, %[[LS]], %{{.*}} : tensor<1x1x40x4xf32>, tensor<1x1x50x4xf32>, tensor<1x1x50x4xf32>, tensor<1x1x40xf32>) first_position(%[[P]]) outs({{.*}} : tensor<1x1x40x4xf32>, tensor<1x1x50x4xf32>, tensor<1x1x50x4xf32>)
// CHECK:         scf.forall.in_parallel {
// CHECK-NEXT:      tensor.parallel_insert_slice %[[R]]#0 into %[[DQA]][%[[BI]], %[[HI]], 0, 0] [1, 1, 40, 4] [1, 1, 1, 1]
// DECOMPOSED-LABEL: func.func @tile_fused_grad(
// DECOMPOSED-NOT:   rotary.
// DECOMPOSED:       return
func.func @tile_fused_grad(%q: tensor<2x3x40x4xf32>, %k: tensor<2x3x50x4xf32>, %lse: tensor<2x3x40xf32>, %p: index) -> tensor<2x3x50x4xf32> {
  %0:3 = rotary.online_attention_grad ins(%q, %k, %k, %q, %lse, %lse : tensor<2x3x40x4xf32>, tensor<2x3x50x4xf32>, tensor<2x3x50x4xf32>, tensor<2x3x40xf32>) first_position(%p) outs(%q, %k, %k : tensor<2x3x40x4xf32>, tensor<2x3x50x4xf32>, tensor<2x3x50x4xf32>) {causal, rotary.tiles = {query = 16 : i64, key = 8 : i64}} -> tensor<2x3x40x4xf32>, tensor<2x3x50x4xf32>, tensor<2x3x50x4xf32>
  return %0#1 : tensor<2x3x50x4xf32>
}
module attributes {transform.with_named_sequence} {
  transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {
    %a = transform.structured.match ops{["rotary.online_attention_grad"]} in %root : (!transform.any_op) -> !transform.any_op
    %tiled, %loop = transform.structured.tile_using_forall %a tile_sizes [1, 1] : (!transform.any_op) -> (!transform.any_op, !transform.any_op)
    transform.yield
  }
}

// -----

// Fused HDD-RoPE on lanes over (b, lanes): a tile writes the columns
// [l·c, (l + n)·c) of the result, reads whole rows of its batch entries of
// x and the angles, and starts at first_lane + l.
// CHECK-LABEL: func.func @tile_hdd_lanes(
// CHECK-SAME:    %[[X:[^:]*]]: tensor<2x5x40xf32>, %[[A:[^:]*]]: tensor<2x5x60xf32>, %[[L:[^:]*]]: index, %[[Y:[^:]*]]: tensor<2x5x40xf32>)
// CHECK:       scf.forall (%[[BI:[a-z0-9_]+]], %[[LT:[a-z0-9_]+]]) in (2, 3) shared_outs(%[[YA:[a-z0-9_]+]] = %[[Y]])
// CHECK-DAG:     %[[L0:.*]] = affine.apply affine_map<(d0) -> (d0 * 4)>(%[[LT]])
// CHECK-DAG:     %[[N:.*]] = affine.min affine_map<(d0) -> (-d0 + 10, 4)>(%[[L0]])
// CHECK-DAG:     %[[YS:.*]] = tensor.extract_slice %[[YA]][%[[BI]], 0, %{{.*}}] [1, 5, %{{.*}}] [1, 1, 1] : tensor<2x5x40xf32> to tensor<1x5x?xf32>
// CHECK-DAG:     %[[XS:.*]] = tensor.extract_slice %[[X]][%[[BI]], 0, 0] [1, 5, 40] [1, 1, 1] : tensor<2x5x40xf32> to tensor<1x5x40xf32>
// CHECK-DAG:     %[[AS:.*]] = tensor.extract_slice %[[A]][%[[BI]], 0, 0] [1, 5, 60] [1, 1, 1] : tensor<2x5x60xf32> to tensor<1x5x60xf32>
// CHECK-DAG:     %[[FIRST:.*]] = arith.addi %[[L]], %[[L0]] : index
// CHECK:         %[[R:.*]] = rotary.hdd_rope_lanes ins(%[[XS]], %[[AS]] : tensor<1x5x40xf32>, tensor<1x5x60xf32>) first_lane(%[[FIRST]]) outs(%[[YS]] : tensor<1x5x?xf32>) {chunk = 4 : i64, rotary.tiles = {lanes = 4 : i64}} -> tensor<1x5x?xf32>
// CHECK:         tensor.parallel_insert_slice %[[R]] into %[[YA]][%[[BI]], 0, %{{.*}}] [1, 5, %{{.*}}] [1, 1, 1]
// DECOMPOSED-LABEL: func.func @tile_hdd_lanes(
// DECOMPOSED-NOT:   rotary.
// DECOMPOSED:       return
func.func @tile_hdd_lanes(%x: tensor<2x5x40xf32>, %a: tensor<2x5x60xf32>, %l: index, %y: tensor<2x5x40xf32>) -> tensor<2x5x40xf32> {
  %0 = rotary.hdd_rope_lanes ins(%x, %a : tensor<2x5x40xf32>, tensor<2x5x60xf32>) first_lane(%l) outs(%y : tensor<2x5x40xf32>) {chunk = 4 : i64, rotary.tiles = {lanes = 4 : i64}} -> tensor<2x5x40xf32>
  return %0 : tensor<2x5x40xf32>
}
module attributes {transform.with_named_sequence} {
  transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {
    %a = transform.structured.match ops{["rotary.hdd_rope_lanes"]} in %root : (!transform.any_op) -> !transform.any_op
    %tiled, %loop = transform.structured.tile_using_forall %a tile_sizes [1, 4] : (!transform.any_op) -> (!transform.any_op, !transform.any_op)
    transform.yield
  }
}

// -----

// Its gradient: x, the angles and ȳ on the batch entry; x̄'s columns by c
// and ā's by c(c−1)/2 per lane.
// CHECK-LABEL: func.func @tile_hdd_lanes_grad(
// CHECK-SAME:    %[[X:[^:]*]]: tensor<2x5x40xf32>, %[[A:[^:]*]]: tensor<2x5x60xf32>, %[[L:[^:]*]]: index)
// CHECK:       scf.forall (%[[BI:[a-z0-9_]+]], %[[LT:[a-z0-9_]+]]) in (2, 3) shared_outs(%[[DXA:[a-z0-9_]+]] = %[[X]], %[[DAA:[a-z0-9_]+]] = %[[A]])
// CHECK-DAG:     %[[L0:.*]] = affine.apply affine_map<(d0) -> (d0 * 4)>(%[[LT]])
// CHECK-DAG:     %[[DXS:.*]] = tensor.extract_slice %[[DXA]][%[[BI]], 0, %{{.*}}] [1, 5, %{{.*}}] [1, 1, 1] : tensor<2x5x40xf32> to tensor<1x5x?xf32>
// CHECK-DAG:     %[[DAS:.*]] = tensor.extract_slice %[[DAA]][%[[BI]], 0, %{{.*}}] [1, 5, %{{.*}}] [1, 1, 1] : tensor<2x5x60xf32> to tensor<1x5x?xf32>
// CHECK-DAG:     %[[FIRST:.*]] = arith.addi %[[L]], %[[L0]] : index
// CHECK:         rotary.hdd_rope_lanes_grad ins({{.*}} : tensor<1x5x40xf32>, tensor<1x5x60xf32>) first_lane(%[[FIRST]]) outs(%[[DXS]], %[[DAS]] : tensor<1x5x?xf32>, tensor<1x5x?xf32>)
// DECOMPOSED-LABEL: func.func @tile_hdd_lanes_grad(
// DECOMPOSED-NOT:   rotary.
// DECOMPOSED:       return
func.func @tile_hdd_lanes_grad(%x: tensor<2x5x40xf32>, %a: tensor<2x5x60xf32>, %l: index) -> tensor<2x5x60xf32> {
  %0:2 = rotary.hdd_rope_lanes_grad ins(%x, %a, %x : tensor<2x5x40xf32>, tensor<2x5x60xf32>) first_lane(%l) outs(%x, %a : tensor<2x5x40xf32>, tensor<2x5x60xf32>) {chunk = 4 : i64, rotary.tiles = {checkpoint = 64 : i64, lanes = 4 : i64}} -> tensor<2x5x40xf32>, tensor<2x5x60xf32>
  return %0#1 : tensor<2x5x60xf32>
}
module attributes {transform.with_named_sequence} {
  transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {
    %a = transform.structured.match ops{["rotary.hdd_rope_lanes_grad"]} in %root : (!transform.any_op) -> !transform.any_op
    %tiled, %loop = transform.structured.tile_using_forall %a tile_sizes [1, 4] : (!transform.any_op) -> (!transform.any_op, !transform.any_op)
    transform.yield
  }
}

// -----

// A Givens chain over rows, one chain and one matrix per head: x and the
// init on (rows, heads); cos, sin and the matrix on the head; the pairs
// whole.
// CHECK-LABEL: func.func @tile_givens_rows_per_head(
// CHECK-SAME:    %[[X:[^:]*]]: tensor<50x3x16xf32>, %[[C:[^:]*]]: tensor<3x8xf32>, %[[S:[^:]*]]: tensor<3x8xf32>, %[[P:[^:]*]]: tensor<8x2xindex>, %[[R:[^:]*]]: tensor<3x16x16xf32>, %[[Y:[^:]*]]: tensor<50x3x16xbf16>)
// CHECK:       scf.forall (%[[RT:[a-z0-9_]+]], %[[HI:[a-z0-9_]+]]) in (4, 3) shared_outs(%[[YA:[a-z0-9_]+]] = %[[Y]])
// CHECK-DAG:     %[[R0:.*]] = affine.apply affine_map<(d0) -> (d0 * 16)>(%[[RT]])
// CHECK-DAG:     %[[ROWS:.*]] = affine.min affine_map<(d0) -> (-d0 + 50, 16)>(%[[R0]])
// CHECK-DAG:     %[[XS:.*]] = tensor.extract_slice %[[X]][%[[R0]], %[[HI]], 0] [%[[ROWS]], 1, 16] [1, 1, 1] : tensor<50x3x16xf32> to tensor<?x1x16xf32>
// CHECK-DAG:     %[[CS:.*]] = tensor.extract_slice %[[C]][%[[HI]], 0] [1, 8] [1, 1] : tensor<3x8xf32> to tensor<1x8xf32>
// CHECK-DAG:     %[[SS:.*]] = tensor.extract_slice %[[S]][%[[HI]], 0] [1, 8] [1, 1] : tensor<3x8xf32> to tensor<1x8xf32>
// CHECK-DAG:     %[[RS:.*]] = tensor.extract_slice %[[R]][%[[HI]], 0, 0] [1, 16, 16] [1, 1, 1] : tensor<3x16x16xf32> to tensor<1x16x16xf32>
// CHECK-DAG:     %[[YS:.*]] = tensor.extract_slice %[[YA]][%[[R0]], %[[HI]], 0] [%[[ROWS]], 1, 16] [1, 1, 1] : tensor<50x3x16xbf16> to tensor<?x1x16xbf16>
// CHECK:         %[[T:.*]] = rotary.givens_rows ins(%[[XS]], %[[CS]], %[[SS]], %[[P]] : tensor<?x1x16xf32>, tensor<1x8xf32>, tensor<1x8xf32>, tensor<8x2xindex>) matrix(%[[RS]] : tensor<1x16x16xf32>) outs(%[[YS]] : tensor<?x1x16xbf16>) {rotary.tiles = {rows = 16 : i64}}
// CHECK:         scf.forall.in_parallel {
// CHECK-NEXT:      tensor.parallel_insert_slice %[[T]] into %[[YA]][%[[R0]], %[[HI]], 0] [%[[ROWS]], 1, 16] [1, 1, 1]
// DECOMPOSED-LABEL: func.func @tile_givens_rows_per_head(
// DECOMPOSED-NOT:   rotary.
// DECOMPOSED:       vector<16xf32>
// DECOMPOSED-NOT:   rotary.
// DECOMPOSED:       return
func.func @tile_givens_rows_per_head(%x: tensor<50x3x16xf32>, %c: tensor<3x8xf32>, %s: tensor<3x8xf32>, %p: tensor<8x2xindex>, %r: tensor<3x16x16xf32>, %y: tensor<50x3x16xbf16>) -> tensor<50x3x16xbf16> {
  %0 = rotary.givens_rows ins(%x, %c, %s, %p : tensor<50x3x16xf32>, tensor<3x8xf32>, tensor<3x8xf32>, tensor<8x2xindex>) matrix(%r : tensor<3x16x16xf32>) outs(%y : tensor<50x3x16xbf16>) {rotary.tiles = {rows = 16 : i64}} -> tensor<50x3x16xbf16>
  return %0 : tensor<50x3x16xbf16>
}
module attributes {transform.with_named_sequence} {
  transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {
    %a = transform.structured.match ops{["rotary.givens_rows"]} in %root : (!transform.any_op) -> !transform.any_op
    %tiled, %loop = transform.structured.tile_using_forall %a tile_sizes [16, 1] : (!transform.any_op) -> (!transform.any_op, !transform.any_op)
    transform.yield
  }
}

// -----

// One chain and one matrix shared by every head: only x and the init are
// cut; the tables and the matrix stay whole.
// CHECK-LABEL: func.func @tile_givens_rows_shared(
// CHECK-SAME:    %[[X:[^:]*]]: tensor<?x2x16xf32>, %[[C:[^:]*]]: tensor<1x8xf32>, %[[P:[^:]*]]: tensor<8x2xindex>, %[[R:[^:]*]]: tensor<16x16xf32>)
// CHECK:       scf.forall (%[[RT:[a-z0-9_]+]], %[[HI:[a-z0-9_]+]]) in (%{{.*}}, 2) shared_outs(%[[YA:[a-z0-9_]+]] = %[[X]])
// CHECK-DAG:     %[[XS:.*]] = tensor.extract_slice %[[X]][%{{.*}}, %[[HI]], 0] [%{{.*}}, 1, 16] [1, 1, 1] : tensor<?x2x16xf32> to tensor<?x1x16xf32>
// CHECK-DAG:     %[[YS:.*]] = tensor.extract_slice %[[YA]][%{{.*}}, %[[HI]], 0] [%{{.*}}, 1, 16] [1, 1, 1] : tensor<?x2x16xf32> to tensor<?x1x16xf32>
// CHECK:         rotary.givens_rows ins(%[[XS]], %[[C]], %[[C]], %[[P]] : tensor<?x1x16xf32>, tensor<1x8xf32>, tensor<1x8xf32>, tensor<8x2xindex>) matrix(%[[R]] : tensor<16x16xf32>) outs(%[[YS]] : tensor<?x1x16xf32>) {reverse, rotary.tiles = {rows = 32 : i64}}
// DECOMPOSED-LABEL: func.func @tile_givens_rows_shared(
// DECOMPOSED-NOT:   rotary.
// DECOMPOSED:       vector<32xf32>
// DECOMPOSED-NOT:   rotary.
// DECOMPOSED:       return
func.func @tile_givens_rows_shared(%x: tensor<?x2x16xf32>, %c: tensor<1x8xf32>, %p: tensor<8x2xindex>, %r: tensor<16x16xf32>) -> tensor<?x2x16xf32> {
  %0 = rotary.givens_rows ins(%x, %c, %c, %p : tensor<?x2x16xf32>, tensor<1x8xf32>, tensor<1x8xf32>, tensor<8x2xindex>) matrix(%r : tensor<16x16xf32>) outs(%x : tensor<?x2x16xf32>) {reverse, rotary.tiles = {rows = 32 : i64}} -> tensor<?x2x16xf32>
  return %0 : tensor<?x2x16xf32>
}
module attributes {transform.with_named_sequence} {
  transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {
    %a = transform.structured.match ops{["rotary.givens_rows"]} in %root : (!transform.any_op) -> !transform.any_op
    %tiled, %loop = transform.structured.tile_using_forall %a tile_sizes [32, 1] : (!transform.any_op) -> (!transform.any_op, !transform.any_op)
    transform.yield
  }
}

// -----

// A rotation scan tiled on (a, t) by sequential scf.for loops
// (tile_using_for): T is the scan, a reduction; a tile of 16 steps is the
// same op on slices, the rotations and P cut on (a, t, bm), the carry on
// (a, bm). A tile's carry init is the loop's carry, the previous tile's
// carry out (the product of every step before it), so tiling the scan dim
// sequentially is exact: P and the carry are the loops' iter_args. The
// block the op records is only read by a tiling decomposition.
// CHECK-LABEL: func.func @tile_rotation_scan_steps(
// CHECK-SAME:    %[[G:[^:]*]]: tensor<2x40x3x2x2xf32>, %[[P:[^:]*]]: tensor<2x40x3x2x2xf32>, %[[C:[^:]*]]: tensor<2x3x2x2xf32>)
// CHECK-DAG:   %[[C1:.*]] = arith.constant 1 : index
// CHECK-DAG:   %[[C2:.*]] = arith.constant 2 : index
// CHECK-DAG:   %[[C16:.*]] = arith.constant 16 : index
// CHECK-DAG:   %[[C40:.*]] = arith.constant 40 : index
// CHECK:       %[[RA:.*]]:2 = scf.for %[[AI:[a-z0-9_]+]] = %{{.*}} to %[[C2]] step %[[C1]] iter_args(%[[PA:[a-z0-9_]+]] = %[[P]], %[[CA:[a-z0-9_]+]] = %[[C]]) -> (tensor<2x40x3x2x2xf32>, tensor<2x3x2x2xf32>) {
// CHECK-NEXT:    %[[RT:.*]]:2 = scf.for %[[T0:[a-z0-9_]+]] = %{{.*}} to %[[C40]] step %[[C16]] iter_args(%[[PT:[a-z0-9_]+]] = %[[PA]], %[[CT:[a-z0-9_]+]] = %[[CA]]) -> (tensor<2x40x3x2x2xf32>, tensor<2x3x2x2xf32>) {
// CHECK:           %[[N:.*]] = affine.min affine_map<(d0) -> (-d0 + 40, 16)>(%[[T0]])
// CHECK-DAG:       %[[GS:.*]] = tensor.extract_slice %[[G]][%[[AI]], %[[T0]], 0, 0, 0] [1, %[[N]], 3, 2, 2] [1, 1, 1, 1, 1] : tensor<2x40x3x2x2xf32> to tensor<1x?x3x2x2xf32>
// CHECK-DAG:       %[[PS:.*]] = tensor.extract_slice %[[PT]][%[[AI]], %[[T0]], 0, 0, 0] [1, %[[N]], 3, 2, 2] [1, 1, 1, 1, 1] : tensor<2x40x3x2x2xf32> to tensor<1x?x3x2x2xf32>
// CHECK-DAG:       %[[CS:.*]] = tensor.extract_slice %[[CT]][%[[AI]], 0, 0, 0] [1, 3, 2, 2] [1, 1, 1, 1] : tensor<2x3x2x2xf32> to tensor<1x3x2x2xf32>
// CHECK:           %[[TP:[a-z0-9_]+]], %[[TC:[a-z0-9_]+]] = rotary.rotation_scan ins(%[[GS]] : tensor<1x?x3x2x2xf32>) outs(%[[PS]], %[[CS]] : tensor<1x?x3x2x2xf32>, tensor<1x3x2x2xf32>) {rotary.tiles = {block = 8 : i64}} -> tensor<1x?x3x2x2xf32>, tensor<1x3x2x2xf32>
// CHECK-NEXT:      %[[PN:.*]] = tensor.insert_slice %[[TP]] into %[[PT]][%[[AI]], %[[T0]], 0, 0, 0] [1, %[[N]], 3, 2, 2] [1, 1, 1, 1, 1] : tensor<1x?x3x2x2xf32> into tensor<2x40x3x2x2xf32>
// CHECK-NEXT:      %[[CN:.*]] = tensor.insert_slice %[[TC]] into %[[CT]][%[[AI]], 0, 0, 0] [1, 3, 2, 2] [1, 1, 1, 1] : tensor<1x3x2x2xf32> into tensor<2x3x2x2xf32>
// CHECK-NEXT:      scf.yield %[[PN]], %[[CN]] : tensor<2x40x3x2x2xf32>, tensor<2x3x2x2xf32>
// CHECK-NEXT:    }
// CHECK-NEXT:    scf.yield %[[RT]]#0, %[[RT]]#1 : tensor<2x40x3x2x2xf32>, tensor<2x3x2x2xf32>
// CHECK-NEXT:  }
// CHECK-NEXT:  return %[[RA]]#0, %[[RA]]#1 : tensor<2x40x3x2x2xf32>, tensor<2x3x2x2xf32>
// DECOMPOSED-LABEL: func.func @tile_rotation_scan_steps(
// DECOMPOSED-NOT:   rotary.
// DECOMPOSED:       scf.for {{.*}} -> (tensor<1x?x3x2x2xf32>, f32, f32, f32, f32) {
// DECOMPOSED-NOT:   rotary.
// DECOMPOSED:       return
func.func @tile_rotation_scan_steps(%g: tensor<2x40x3x2x2xf32>, %p: tensor<2x40x3x2x2xf32>, %c: tensor<2x3x2x2xf32>) -> (tensor<2x40x3x2x2xf32>, tensor<2x3x2x2xf32>) {
  %0:2 = rotary.rotation_scan ins(%g : tensor<2x40x3x2x2xf32>) outs(%p, %c : tensor<2x40x3x2x2xf32>, tensor<2x3x2x2xf32>) {rotary.tiles = {block = 8 : i64}} -> tensor<2x40x3x2x2xf32>, tensor<2x3x2x2xf32>
  return %0#0, %0#1 : tensor<2x40x3x2x2xf32>, tensor<2x3x2x2xf32>
}
module attributes {transform.with_named_sequence} {
  transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {
    %a = transform.structured.match ops{["rotary.rotation_scan"]} in %root : (!transform.any_op) -> !transform.any_op
    %tiled, %loops:2 = transform.structured.tile_using_for %a tile_sizes [1, 16, 0] : (!transform.any_op) -> (!transform.any_op, !transform.any_op, !transform.any_op)
    transform.yield
  }
}

// -----

// The rows of a rotation scan are parallel: a row of S·G_t is that row of S
// times G_t, so a tile of rows cuts P and the carry on their row dim and
// reads every rotation whole. Its decomposition holds only the tile's rows
// (2 × 4 scalars here).
// CHECK-LABEL: func.func @tile_rotation_scan_rows(
// CHECK-SAME:    %[[G:[^:]*]]: tensor<2x40x3x4x4xf32>, %[[P:[^:]*]]: tensor<2x40x3x4x4xf32>, %[[C:[^:]*]]: tensor<2x3x4x4xf32>)
// CHECK:       scf.forall (%[[R:.*]]) in (2) shared_outs(%[[PO:.*]] = %[[P]], %[[CO:.*]] = %[[C]])
// CHECK:         %[[R0:.*]] = affine.apply affine_map<(d0) -> (d0 * 2)>(%[[R]])
// CHECK-DAG:     %[[GS:.*]] = tensor.extract_slice %[[G]][0, 0, 0, 0, 0] [2, 40, 3, 4, 4] [1, 1, 1, 1, 1]
// CHECK-DAG:     %[[PS:.*]] = tensor.extract_slice %[[PO]][0, 0, 0, %[[R0]], 0] [2, 40, 3, 2, 4] [1, 1, 1, 1, 1] : tensor<2x40x3x4x4xf32> to tensor<2x40x3x2x4xf32>
// CHECK-DAG:     %[[CS:.*]] = tensor.extract_slice %[[CO]][0, 0, %[[R0]], 0] [2, 3, 2, 4] [1, 1, 1, 1] : tensor<2x3x4x4xf32> to tensor<2x3x2x4xf32>
// CHECK:         rotary.rotation_scan ins(%[[GS]] : tensor<2x40x3x4x4xf32>) outs(%[[PS]], %[[CS]] : tensor<2x40x3x2x4xf32>, tensor<2x3x2x4xf32>)
// CHECK:         tensor.parallel_insert_slice %{{.*}} into %[[PO]][0, 0, 0, %[[R0]], 0] [2, 40, 3, 2, 4]
// CHECK:         tensor.parallel_insert_slice %{{.*}} into %[[CO]][0, 0, %[[R0]], 0] [2, 3, 2, 4]
// DECOMPOSED-LABEL: func.func @tile_rotation_scan_rows(
// DECOMPOSED-NOT:   rotary.
// DECOMPOSED:       scf.for {{.*}} -> (tensor<2x40x3x2x4xf32>, f32, f32, f32, f32, f32, f32, f32, f32) {
// DECOMPOSED-NOT:   rotary.
// DECOMPOSED:       return
func.func @tile_rotation_scan_rows(%g: tensor<2x40x3x4x4xf32>, %p: tensor<2x40x3x4x4xf32>, %c: tensor<2x3x4x4xf32>) -> (tensor<2x40x3x4x4xf32>, tensor<2x3x4x4xf32>) {
  %0:2 = rotary.rotation_scan ins(%g : tensor<2x40x3x4x4xf32>) outs(%p, %c : tensor<2x40x3x4x4xf32>, tensor<2x3x4x4xf32>) {rotary.tiles = {block = 8 : i64}} -> tensor<2x40x3x4x4xf32>, tensor<2x3x4x4xf32>
  return %0#0, %0#1 : tensor<2x40x3x4x4xf32>, tensor<2x3x4x4xf32>
}
module attributes {transform.with_named_sequence} {
  transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {
    %a = transform.structured.match ops{["rotary.rotation_scan"]} in %root : (!transform.any_op) -> !transform.any_op
    %tiled, %loop = transform.structured.tile_using_forall %a tile_sizes [0, 0, 0, 2] : (!transform.any_op) -> (!transform.any_op, !transform.any_op)
    transform.yield
  }
}
