// RUN: rotary-opt %s -convert-rotary-to-linalg -split-input-file -mlir-print-local-scope | FileCheck %s --enable-var-scope

// Lowering of the FAM statistics rotary.spectral_bands and
// rotary.adaptive_momentum (lib/Conversion/RotaryToLinalg/LowerFam.cpp);
// fam_step is in elementwise.mlir. All f32, no loops outside linalg.generic.

// spectral_bands: ΣP once per call (a 0-d reduction); the band sums are one
// generic over (band, j) with j reduced, masking P[j] by the band's [lo, hi)
// (recomputed from the band index in the body, L/n integer width for
// linear); then one elementwise normalisation by ΣP + eps when ΣP > 0.
// CHECK-LABEL: func.func @spectral_bands_linear(
// CHECK-SAME:    %[[P:[^:]*]]: tensor<?xf32>) -> tensor<8xf32>
// CHECK-NOT:   rotary.
// CHECK:       %[[L:.*]] = tensor.dim %[[P]], %c0 : tensor<?xf32>
// CHECK:       %[[Z:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<f32>) -> tensor<f32>
// CHECK-NEXT:  %[[TOTAL:.*]] = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> ()>], iterator_types = ["reduction"]} ins(%[[P]] : tensor<?xf32>) outs(%[[Z]] : tensor<f32>)
// CHECK-NEXT:  ^bb0(%[[TIN:[^:]*]]: f32, %[[TACC:[^:]*]]: f32):
// CHECK-NEXT:    %[[TSUM:.*]] = arith.addf %[[TACC]], %[[TIN]] : f32
// CHECK-NEXT:    linalg.yield %[[TSUM]] : f32
// CHECK:       %[[Z8:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<8xf32>) -> tensor<8xf32>
// CHECK-NEXT:  %[[SUMS:.*]] = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d1)>, affine_map<(d0, d1) -> (d0)>], iterator_types = ["parallel", "reduction"]} ins(%[[P]] : tensor<?xf32>) outs(%[[Z8]] : tensor<8xf32>)
// CHECK-NEXT:  ^bb0(%[[PV:[^:]*]]: f32, %[[ACC:[^:]*]]: f32):
// CHECK-NEXT:    %[[BAND:.*]] = linalg.index 0 : index
// CHECK-NEXT:    %[[J:.*]] = linalg.index 1 : index
// CHECK-NEXT:    %[[N:.*]] = arith.constant 8 : index
// CHECK-NEXT:    %[[ONE:.*]] = arith.constant 1 : index
// CHECK-NEXT:    %[[W:.*]] = arith.divui %[[L]], %[[N]] : index
// CHECK-NEXT:    %[[LO:.*]] = arith.muli %[[BAND]], %[[W]] : index
// CHECK-NEXT:    %[[B1:.*]] = arith.addi %[[BAND]], %[[ONE]] : index
// CHECK-NEXT:    %[[HI0:.*]] = arith.muli %[[B1]], %[[W]] : index
// CHECK-NEXT:    %[[HI:.*]] = arith.minui %[[HI0]], %[[L]] : index
// CHECK-NEXT:    %[[BELOW:.*]] = arith.cmpi slt, %[[J]], %[[HI]] : index
// CHECK-NEXT:    %[[ABOVE:.*]] = arith.cmpi sge, %[[J]], %[[LO]] : index
// CHECK-NEXT:    %[[INSIDE:.*]] = arith.andi %[[ABOVE]], %[[BELOW]] : i1
// CHECK-NEXT:    %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-NEXT:    %[[V:.*]] = arith.select %[[INSIDE]], %[[PV]], %[[ZERO]] : f32
// CHECK-NEXT:    %[[S:.*]] = arith.addf %[[ACC]], %[[V]] : f32
// CHECK-NEXT:    linalg.yield %[[S]] : f32
// eps defaults to 1e-8.
// CHECK:       %[[R:.*]] = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> ()>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]} ins(%[[SUMS]], %[[TOTAL]] : tensor<8xf32>, tensor<f32>) outs(%{{.*}} : tensor<8xf32>)
// CHECK-NEXT:  ^bb0(%[[BV:[^:]*]]: f32, %[[TV:[^:]*]]: f32, %{{[^:]*}}: f32):
// CHECK-NEXT:    %[[Z0:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-NEXT:    %[[POS:.*]] = arith.cmpf ogt, %[[TV]], %[[Z0]] : f32
// CHECK-NEXT:    %[[EPS:.*]] = arith.constant 9.99999993E-9 : f32
// CHECK-NEXT:    %[[DEN:.*]] = arith.addf %[[TV]], %[[EPS]] : f32
// CHECK-NEXT:    %[[Q:.*]] = arith.divf %[[BV]], %[[DEN]] : f32
// CHECK-NEXT:    %[[SEL:.*]] = arith.select %[[POS]], %[[Q]], %[[BV]] : f32
// CHECK-NEXT:    linalg.yield %[[SEL]] : f32
// CHECK:       return %[[R]]
func.func @spectral_bands_linear(%p: tensor<?xf32>) -> tensor<8xf32> {
  %b = rotary.spectral_bands %p bands = 8 layout = linear : tensor<?xf32>
  return %b : tensor<8xf32>
}

// -----

// log: band k spans [edge(k), edge(k+1)) with edge(k) = floor(L^(k/n)) − 1 in
// f64 (a value within 1e-9 relative of an integer is taken as that integer),
// lo clamped at 0 and hi at L. The two powf run per (band, j) element.
// CHECK-LABEL: func.func @spectral_bands_log(
// CHECK:       linalg.generic {{.*}}iterator_types = ["reduction"]
// CHECK:       linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d1)>, affine_map<(d0, d1) -> (d0)>], iterator_types = ["parallel", "reduction"]}
// CHECK:         %[[BAND:.*]] = linalg.index 0 : index
// CHECK-NEXT:    %[[J:.*]] = linalg.index 1 : index
// CHECK:         %[[NI:.*]] = arith.index_castui %c6 : index to i64
// CHECK-NEXT:    %[[NF:.*]] = arith.uitofp %[[NI]] : i64 to f64
// CHECK-NEXT:    %[[BI:.*]] = arith.index_castui %[[BAND]] : index to i64
// CHECK-NEXT:    %[[BF:.*]] = arith.uitofp %[[BI]] : i64 to f64
// CHECK-NEXT:    %[[E:.*]] = arith.divf %[[BF]], %[[NF]] : f64
// CHECK-NEXT:    %[[LI:.*]] = arith.index_castui %c65 : index to i64
// CHECK-NEXT:    %[[LF:.*]] = arith.uitofp %[[LI]] : i64 to f64
// CHECK-NEXT:    %[[X:.*]] = math.powf %[[LF]], %[[E]] : f64
// CHECK-NEXT:    %[[NEAR:.*]] = math.roundeven %[[X]] : f64
// CHECK-NEXT:    %[[TOL0:.*]] = arith.constant 1.000000e-09 : f64
// CHECK-NEXT:    %[[TOL:.*]] = arith.mulf %[[X]], %[[TOL0]] : f64
// CHECK-NEXT:    %[[D:.*]] = arith.subf %[[X]], %[[NEAR]] : f64
// CHECK-NEXT:    %[[AD:.*]] = math.absf %[[D]] : f64
// CHECK-NEXT:    %[[CLOSE:.*]] = arith.cmpf ole, %[[AD]], %[[TOL]] : f64
// CHECK-NEXT:    %[[FL:.*]] = math.floor %[[X]] : f64
// CHECK-NEXT:    %[[PW:.*]] = arith.select %[[CLOSE]], %[[NEAR]], %[[FL]] : f64
// CHECK-NEXT:    %[[PI:.*]] = arith.fptosi %[[PW]] : f64 to i64
// CHECK-NEXT:    %[[PX:.*]] = arith.index_cast %[[PI]] : i64 to index
// CHECK-NEXT:    %[[E0:.*]] = arith.subi %[[PX]], %c1 : index
// CHECK-NEXT:    %[[LO:.*]] = arith.maxsi %[[E0]], %c0 : index
// CHECK-NEXT:    %[[B1:.*]] = arith.addi %[[BAND]], %c1 : index
// CHECK-NEXT:    %[[NI1:.*]] = arith.index_castui %c6 : index to i64
// CHECK-NEXT:    %[[NF1:.*]] = arith.uitofp %[[NI1]] : i64 to f64
// CHECK-NEXT:    %[[B1I:.*]] = arith.index_castui %[[B1]] : index to i64
// CHECK-NEXT:    %[[B1F:.*]] = arith.uitofp %[[B1I]] : i64 to f64
// CHECK-NEXT:    %[[E1:.*]] = arith.divf %[[B1F]], %[[NF1]] : f64
// CHECK-NEXT:    %[[LI1:.*]] = arith.index_castui %c65 : index to i64
// CHECK-NEXT:    %[[LF1:.*]] = arith.uitofp %[[LI1]] : i64 to f64
// CHECK-NEXT:    %[[X1:.*]] = math.powf %[[LF1]], %[[E1]] : f64
// CHECK:         %[[EDGE1:.*]] = arith.subi %{{.*}}, %c1 : index
// CHECK-NEXT:    %[[HI:.*]] = arith.minsi %[[EDGE1]], %c65 : index
// CHECK-NEXT:    %{{.*}} = arith.cmpi slt, %[[J]], %[[HI]] : index
// CHECK-NEXT:    %{{.*}} = arith.cmpi sge, %[[J]], %[[LO]] : index
// CHECK:       linalg.generic
// CHECK:         arith.constant 9.99999997E-7 : f32
func.func @spectral_bands_log(%p: tensor<65xf32>) -> tensor<6xf32> {
  %b = rotary.spectral_bands %p bands = 6 layout = log {eps = 1.0e-6 : f32} : tensor<65xf32>
  return %b : tensor<6xf32>
}

// -----

// split: the first h = n/2 bands split [0, L/2) (width (L/2)/max(h, 1)),
// the other n − h split [L/2, L) (width (L − L/2)/(n − h)).
// CHECK-LABEL: func.func @spectral_bands_split(
// CHECK-SAME:    %[[P:[^:]*]]: tensor<?xf32>) -> tensor<5xf32>
// CHECK:       %[[L:.*]] = tensor.dim %[[P]], %c0 : tensor<?xf32>
// CHECK:       iterator_types = ["parallel", "reduction"]
// CHECK:         %[[BAND:.*]] = linalg.index 0 : index
// CHECK:         %[[H:.*]] = arith.divui %c5, %c2 : index
// CHECK-NEXT:    %[[HL:.*]] = arith.divui %[[L]], %c2 : index
// CHECK-NEXT:    %[[FIRST:.*]] = arith.cmpi ult, %[[BAND]], %[[H]] : index
// CHECK-NEXT:    %[[HS:.*]] = arith.maxui %[[H]], %c1 : index
// CHECK-NEXT:    %[[W1:.*]] = arith.divui %[[HL]], %[[HS]] : index
// CHECK-NEXT:    %[[LO1:.*]] = arith.muli %[[BAND]], %[[W1]] : index
// CHECK:         %[[HI1:.*]] = arith.minui %{{.*}}, %[[HL]] : index
// CHECK-NEXT:    %[[NH:.*]] = arith.subi %c5, %[[H]] : index
// CHECK-NEXT:    %[[REST:.*]] = arith.subi %[[L]], %[[HL]] : index
// CHECK-NEXT:    %[[W2:.*]] = arith.divui %[[REST]], %[[NH]] : index
// CHECK-NEXT:    %[[JJ:.*]] = arith.subi %[[BAND]], %[[H]] : index
// CHECK-NEXT:    %[[OFF:.*]] = arith.muli %[[JJ]], %[[W2]] : index
// CHECK-NEXT:    %[[LO2:.*]] = arith.addi %[[HL]], %[[OFF]] : index
// CHECK:         %[[HI2:.*]] = arith.minui %{{.*}}, %[[L]] : index
// CHECK-NEXT:    %[[LO:.*]] = arith.select %[[FIRST]], %[[LO1]], %[[LO2]] : index
// CHECK-NEXT:    %[[HI:.*]] = arith.select %[[FIRST]], %[[HI1]], %[[HI2]] : index
func.func @spectral_bands_split(%p: tensor<?xf32>) -> tensor<5xf32> {
  %b = rotary.spectral_bands %p bands = 5 layout = split : tensor<?xf32>
  return %b : tensor<5xf32>
}

// -----

// adaptive_momentum: one pass over the n EMA bands computes Σ[n/2, n),
// Σ[n/4, 3n/4), Σ[3n/4, n) and the first argmax (from −inf, index 0); a 0-d
// generic applies the handler's rule to α. conv: mid > 0.4 → min(0.97,
// α + 0.07), else high > 0.3 → min(0.95, α + 0.05), else α.
// CHECK-LABEL: func.func @adaptive_momentum_conv(
// CHECK-SAME:    %[[EMA:[^:]*]]: tensor<10xf32>, %[[ALPHA:[^:]*]]: tensor<f32>) -> tensor<f32>
// CHECK-NOT:   rotary.
// CHECK:       %[[NINF:.*]] = arith.constant 0xFF800000 : f32
// CHECK:       %[[MAX0:.*]] = linalg.fill ins(%[[NINF]] : f32) outs(%{{.*}} : tensor<f32>)
// CHECK:       %[[ARG0:.*]] = linalg.fill ins(%{{.*}} : index) outs(%{{.*}} : tensor<index>)
// CHECK:       %[[ST:.*]]:5 = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> ()>, affine_map<(d0) -> ()>, affine_map<(d0) -> ()>, affine_map<(d0) -> ()>, affine_map<(d0) -> ()>], iterator_types = ["reduction"]} ins(%[[EMA]] : tensor<10xf32>) outs(%{{.*}}, %{{.*}}, %{{.*}}, %[[MAX0]], %[[ARG0]] : tensor<f32>, tensor<f32>, tensor<f32>, tensor<f32>, tensor<index>)
// CHECK-NEXT:  ^bb0(%[[E:[^:]*]]: f32, %[[HALF:[^:]*]]: f32, %[[MID:[^:]*]]: f32, %[[HIGH:[^:]*]]: f32, %[[MAX:[^:]*]]: f32, %[[ARG:[^:]*]]: index):
// CHECK-NEXT:    %[[J:.*]] = linalg.index 0 : index
// CHECK:         %[[N2:.*]] = arith.divui %{{.*}}, %c2 : index
// CHECK-NEXT:    %[[GE2:.*]] = arith.cmpi uge, %[[J]], %[[N2]] : index
// CHECK-NEXT:    %[[V2:.*]] = arith.select %[[GE2]], %[[E]], %{{.*}} : f32
// CHECK-NEXT:    %[[S2:.*]] = arith.addf %[[HALF]], %[[V2]] : f32
// CHECK:         %[[N4:.*]] = arith.divui %{{.*}}, %c4 : index
// CHECK-NEXT:    %[[GE4:.*]] = arith.cmpi uge, %[[J]], %[[N4]] : index
// CHECK:         %[[T3:.*]] = arith.muli %c10, %c3 : index
// CHECK-NEXT:    %[[N34:.*]] = arith.divui %[[T3]], %c4{{.*}} : index
// CHECK-NEXT:    %[[LT34:.*]] = arith.cmpi ult, %[[J]], %[[N34]] : index
// CHECK-NEXT:    %[[INM:.*]] = arith.andi %[[GE4]], %[[LT34]] : i1
// CHECK-NEXT:    %[[VM:.*]] = arith.select %[[INM]], %[[E]], %{{.*}} : f32
// CHECK-NEXT:    %[[SM:.*]] = arith.addf %[[MID]], %[[VM]] : f32
// CHECK:         %[[GE34:.*]] = arith.cmpi uge, %[[J]], %{{.*}} : index
// CHECK-NEXT:    %[[VH:.*]] = arith.select %[[GE34]], %[[E]], %{{.*}} : f32
// CHECK-NEXT:    %[[SH:.*]] = arith.addf %[[HIGH]], %[[VH]] : f32
// CHECK-NEXT:    %[[GT:.*]] = arith.cmpf ogt, %[[E]], %[[MAX]] : f32
// CHECK-NEXT:    %[[NMAX:.*]] = arith.select %[[GT]], %[[E]], %[[MAX]] : f32
// CHECK-NEXT:    %[[NARG:.*]] = arith.select %[[GT]], %[[J]], %[[ARG]] : index
// CHECK-NEXT:    linalg.yield %[[S2]], %[[SM]], %[[SH]], %[[NMAX]], %[[NARG]] : f32, f32, f32, f32, index
// CHECK:       %[[R:.*]] = linalg.generic {indexing_maps = [affine_map<() -> ()>, affine_map<() -> ()>, affine_map<() -> ()>, affine_map<() -> ()>, affine_map<() -> ()>, affine_map<() -> ()>], iterator_types = []} ins(%[[ALPHA]], %[[ST]]#0, %[[ST]]#1, %[[ST]]#2, %[[ST]]#4 : tensor<f32>, tensor<f32>, tensor<f32>, tensor<f32>, tensor<index>) outs(%{{.*}} : tensor<f32>)
// CHECK-NEXT:  ^bb0(%[[A:[^:]*]]: f32, %{{[^:]*}}: f32, %[[M:[^:]*]]: f32, %[[H:[^:]*]]: f32, %{{[^:]*}}: index, %{{[^:]*}}: f32):
// CHECK-DAG:     %[[C005:.*]] = arith.constant 5.000000e-02 : f32
// CHECK-DAG:     %[[C095:.*]] = arith.constant 0.949999988 : f32
// CHECK-DAG:     %[[C03:.*]] = arith.constant 3.000000e-01 : f32
// CHECK-DAG:     %[[C007:.*]] = arith.constant 7.000000e-02 : f32
// CHECK-DAG:     %[[C097:.*]] = arith.constant 9.700000e-01 : f32
// CHECK-DAG:     %[[C04:.*]] = arith.constant 4.000000e-01 : f32
// CHECK-DAG:     %[[UP5:.*]] = arith.addf %[[A]], %[[C005]] : f32
// CHECK-DAG:     %[[CAP5:.*]] = arith.minimumf %[[C095]], %[[UP5]] : f32
// CHECK-DAG:     %[[HIGHQ:.*]] = arith.cmpf ogt, %[[H]], %[[C03]] : f32
// CHECK-DAG:     %[[ELSE:.*]] = arith.select %[[HIGHQ]], %[[CAP5]], %[[A]] : f32
// CHECK-DAG:     %[[UP7:.*]] = arith.addf %[[A]], %[[C007]] : f32
// CHECK-DAG:     %[[CAP7:.*]] = arith.minimumf %[[C097]], %[[UP7]] : f32
// CHECK-DAG:     %[[MIDQ:.*]] = arith.cmpf ogt, %[[M]], %[[C04]] : f32
// CHECK:         %[[RES:.*]] = arith.select %[[MIDQ]], %[[CAP7]], %[[ELSE]] : f32
// CHECK-NEXT:    linalg.yield %[[RES]] : f32
// CHECK:       return %[[R]]
func.func @adaptive_momentum_conv(%ema: tensor<10xf32>, %alpha: tensor<f32>) -> tensor<f32> {
  %a = rotary.adaptive_momentum %ema, %alpha handler = conv : tensor<10xf32>
  return %a : tensor<f32>
}

// -----

// attention, n dynamic: argmax < n/4 → max(0.85, α − 0.05); argmax > 3n/4
// → min(0.98, α + 0.08); else α.
// CHECK-LABEL: func.func @adaptive_momentum_attention(
// CHECK-SAME:    %[[EMA:[^:]*]]: tensor<?xf32>, %[[ALPHA:[^:]*]]: tensor<f32>)
// CHECK:       %[[N:.*]] = tensor.dim %[[EMA]], %c0 : tensor<?xf32>
// CHECK:       %[[ST:.*]]:5 = linalg.generic {{.*}}iterator_types = ["reduction"]} ins(%[[EMA]] : tensor<?xf32>)
// CHECK:       linalg.generic {{.*}}iterator_types = []} ins(%[[ALPHA]], %[[ST]]#0, %[[ST]]#1, %[[ST]]#2, %[[ST]]#4 :
// CHECK-NEXT:  ^bb0(%[[A:[^:]*]]: f32, %{{[^:]*}}: f32, %{{[^:]*}}: f32, %{{[^:]*}}: f32, %[[ARG:[^:]*]]: index, %{{[^:]*}}: f32):
// CHECK-NEXT:    %[[C4:.*]] = arith.constant 4 : index
// CHECK-NEXT:    %[[Q1:.*]] = arith.divui %[[N]], %[[C4]] : index
// CHECK:         %[[N3:.*]] = arith.muli %[[N]], %c3 : index
// CHECK-NEXT:    %[[Q3:.*]] = arith.divui %[[N3]], %{{.*}} : index
// CHECK-NEXT:    %[[LOW:.*]] = arith.cmpi ult, %[[ARG]], %[[Q1]] : index
// CHECK-NEXT:    %[[TOP:.*]] = arith.cmpi ugt, %[[ARG]], %[[Q3]] : index
// CHECK-NEXT:    %[[C005:.*]] = arith.constant 5.000000e-02 : f32
// CHECK-NEXT:    %[[DOWN:.*]] = arith.subf %[[A]], %[[C005]] : f32
// CHECK-NEXT:    %[[C085:.*]] = arith.constant 8.500000e-01 : f32
// CHECK-NEXT:    %[[FLOOR:.*]] = arith.maximumf %[[C085]], %[[DOWN]] : f32
// CHECK-NEXT:    %[[C008:.*]] = arith.constant 8.000000e-02 : f32
// CHECK-NEXT:    %[[UP:.*]] = arith.addf %[[A]], %[[C008]] : f32
// CHECK-NEXT:    %[[C098:.*]] = arith.constant 9.800000e-01 : f32
// CHECK-NEXT:    %[[CAP:.*]] = arith.minimumf %[[C098]], %[[UP]] : f32
// CHECK-NEXT:    %[[ELSE:.*]] = arith.select %[[TOP]], %[[CAP]], %[[A]] : f32
// CHECK-NEXT:    %[[RES:.*]] = arith.select %[[LOW]], %[[FLOOR]], %[[ELSE]] : f32
// CHECK-NEXT:    linalg.yield %[[RES]] : f32
func.func @adaptive_momentum_attention(%ema: tensor<?xf32>, %alpha: tensor<f32>) -> tensor<f32> {
  %a = rotary.adaptive_momentum %ema, %alpha handler = attention : tensor<?xf32>
  return %a : tensor<f32>
}

// -----

// default: half > 0.3 → min(0.95, α + 0.05); embedding: high > 0.2 →
// min(0.98, α + 0.08).
// CHECK-LABEL: func.func @adaptive_momentum_default_embedding(
// CHECK:       iterator_types = []
// CHECK-NEXT:  ^bb0(%[[A:[^:]*]]: f32, %[[HALF:[^:]*]]: f32, %{{[^:]*}}: f32, %{{[^:]*}}: f32, %{{[^:]*}}: index, %{{[^:]*}}: f32):
// CHECK-NEXT:    %[[C005:.*]] = arith.constant 5.000000e-02 : f32
// CHECK-NEXT:    %[[UP:.*]] = arith.addf %[[A]], %[[C005]] : f32
// CHECK-NEXT:    %[[C095:.*]] = arith.constant 0.949999988 : f32
// CHECK-NEXT:    %[[CAP:.*]] = arith.minimumf %[[C095]], %[[UP]] : f32
// CHECK-NEXT:    %[[C03:.*]] = arith.constant 3.000000e-01 : f32
// CHECK-NEXT:    %[[Q:.*]] = arith.cmpf ogt, %[[HALF]], %[[C03]] : f32
// CHECK-NEXT:    %[[RES:.*]] = arith.select %[[Q]], %[[CAP]], %[[A]] : f32
// CHECK-NEXT:    linalg.yield %[[RES]] : f32
// CHECK:       iterator_types = []
// CHECK-NEXT:  ^bb0(%[[A:[^:]*]]: f32, %{{[^:]*}}: f32, %{{[^:]*}}: f32, %[[HIGH:[^:]*]]: f32, %{{[^:]*}}: index, %{{[^:]*}}: f32):
// CHECK-NEXT:    %[[C008:.*]] = arith.constant 8.000000e-02 : f32
// CHECK-NEXT:    %[[UP:.*]] = arith.addf %[[A]], %[[C008]] : f32
// CHECK-NEXT:    %[[C098:.*]] = arith.constant 9.800000e-01 : f32
// CHECK-NEXT:    %[[CAP:.*]] = arith.minimumf %[[C098]], %[[UP]] : f32
// CHECK-NEXT:    %[[C02:.*]] = arith.constant 2.000000e-01 : f32
// CHECK-NEXT:    %[[Q:.*]] = arith.cmpf ogt, %[[HIGH]], %[[C02]] : f32
// CHECK-NEXT:    %[[RES:.*]] = arith.select %[[Q]], %[[CAP]], %[[A]] : f32
// CHECK-NEXT:    linalg.yield %[[RES]] : f32
func.func @adaptive_momentum_default_embedding(%ema: tensor<?xf32>, %alpha: tensor<f32>) -> (tensor<f32>, tensor<f32>) {
  %a = rotary.adaptive_momentum %ema, %alpha handler = default : tensor<?xf32>
  %b = rotary.adaptive_momentum %ema, %alpha handler = embedding : tensor<?xf32>
  return %a, %b : tensor<f32>, tensor<f32>
}
