// RUN: rotary-opt %s -rotary-outline-parallel-loops -split-input-file -verify-diagnostics | FileCheck %s

// A two-dim loop nest with control flow in its body. The body moves into
// @k_par0(ctx, begin, end), which loads what it uses from the kernel
// (n and m are sizes, p and f data; the constants are cloned, so LLVM still
// sees constant bounds and steps), walks k in [begin, end) and recovers
// (i, j) with j fastest; omp.yield becomes the branch to k + 1, the body's
// own branches stay. The kernel stores the captured values in a stack
// struct and calls the launcher from @rotary_parallel_for over n·m
// iterations, or the body itself on [0, n·m) while the slot is null.
// CHECK-LABEL: llvm.mlir.global external @rotary_parallel_for() {{.*}} : !llvm.ptr {
// CHECK-NEXT:    %[[Z:.*]] = llvm.mlir.zero : !llvm.ptr
// CHECK-NEXT:    llvm.return %[[Z]]
// CHECK-LABEL: llvm.func internal @k_par0(
// CHECK-SAME:      %[[CTX:[^:]*]]: !llvm.ptr, %[[BEGIN:[^:]*]]: i64, %[[END:[^:]*]]: i64) {
// CHECK:         %[[G0:.*]] = llvm.getelementptr %[[CTX]][0, 0] : (!llvm.ptr) -> !llvm.ptr, !llvm.struct<(i64, ptr, f32, i64)>
// CHECK-NEXT:    %[[M:.*]] = llvm.load %[[G0]] : !llvm.ptr -> i64
// CHECK-NEXT:    %[[G1:.*]] = llvm.getelementptr %[[CTX]][0, 1]
// CHECK-NEXT:    %[[P:.*]] = llvm.load %[[G1]] : !llvm.ptr -> !llvm.ptr
// CHECK-NEXT:    %[[G2:.*]] = llvm.getelementptr %[[CTX]][0, 2]
// CHECK-NEXT:    %[[F:.*]] = llvm.load %[[G2]] : !llvm.ptr -> f32
// CHECK-NEXT:    %[[G3:.*]] = llvm.getelementptr %[[CTX]][0, 3]
// CHECK-NEXT:    llvm.load %[[G3]] : !llvm.ptr -> i64
// CHECK-NEXT:    %[[C0:.*]] = llvm.mlir.constant(0 : i64) : i64
// CHECK-NEXT:    %[[C1:.*]] = llvm.mlir.constant(1 : i64) : i64
// The trip counts max(0, ceil((ub - lb) / step)) of i, then of j.
// CHECK:         llvm.select %{{.*}}, %{{.*}}, %{{.*}} : i1, i64
// CHECK:         %[[TM:.*]] = llvm.select %{{.*}}, %{{.*}}, %{{.*}} : i1, i64
// CHECK-NEXT:    llvm.br ^[[HEAD:.*]](%[[BEGIN]] : i64)
// CHECK:       ^[[HEAD]](%[[K:.*]]: i64):
// CHECK-NEXT:    %[[MORE:.*]] = llvm.icmp "slt" %[[K]], %[[END]] : i64
// CHECK-NEXT:    llvm.cond_br %[[MORE]], ^[[DELIN:.*]], ^[[EXIT:.*]]
// CHECK:       ^[[DELIN]]:
// CHECK-NEXT:    %[[JR:.*]] = llvm.srem %[[K]], %[[TM]] : i64
// CHECK-NEXT:    %[[IR:.*]] = llvm.sdiv %[[K]], %[[TM]] : i64
// CHECK-NEXT:    %[[JS:.*]] = llvm.mul %[[JR]], %[[C1]] : i64
// CHECK-NEXT:    %[[J:.*]] = llvm.add %[[C0]], %[[JS]] : i64
// CHECK-NEXT:    %[[IS:.*]] = llvm.mul %[[IR]], %[[C1]] : i64
// CHECK-NEXT:    %[[I:.*]] = llvm.add %[[C0]], %[[IS]] : i64
// CHECK-NEXT:    llvm.br ^[[BODY:.*]](%[[I]], %[[J]] : i64, i64)
// CHECK:       ^[[BODY]](%[[BI:.*]]: i64, %[[BJ:.*]]: i64):
// CHECK-NEXT:    %[[ROW:.*]] = llvm.mul %[[BI]], %[[M]] : i64
// CHECK-NEXT:    %[[IDX:.*]] = llvm.add %[[ROW]], %[[BJ]] : i64
// CHECK-NEXT:    %[[POS:.*]] = llvm.icmp "sgt" %[[IDX]], %[[C0]] : i64
// CHECK-NEXT:    llvm.cond_br %[[POS]], ^[[STORE:.*]], ^[[DONE:.*]]
// CHECK:       ^[[STORE]]:
// CHECK-NEXT:    %[[A:.*]] = llvm.getelementptr %[[P]][%[[IDX]]]
// CHECK-NEXT:    llvm.store %[[F]], %[[A]] : f32, !llvm.ptr
// CHECK-NEXT:    llvm.br ^[[DONE]]
// CHECK:       ^[[DONE]]:
// CHECK-NEXT:    llvm.br ^[[LATCH:.*]]
// CHECK:       ^[[LATCH]]:
// CHECK-NEXT:    %[[ONE:.*]] = llvm.mlir.constant(1 : i64) : i64
// CHECK-NEXT:    %[[NEXT:.*]] = llvm.add %[[K]], %[[ONE]] : i64
// CHECK-NEXT:    llvm.br ^[[HEAD]](%[[NEXT]] : i64)
// CHECK:       ^[[EXIT]]:
// CHECK-NEXT:    llvm.return
// CHECK-LABEL: llvm.func @k(
// CHECK-SAME:      %[[KP:[^:]*]]: !llvm.ptr, %[[KN:[^:]*]]: i64, %[[KM:[^:]*]]: i64, %[[KF:[^:]*]]: f32) {
// CHECK-NOT:     omp.
// CHECK:         %[[FRAME:.*]] = llvm.alloca %{{.*}} x !llvm.struct<(i64, ptr, f32, i64)>
// CHECK:         llvm.store %[[KM]], %{{.*}} : i64, !llvm.ptr
// CHECK-NEXT:    llvm.getelementptr %[[FRAME]][0, 1]
// CHECK-NEXT:    llvm.store %[[KP]], %{{.*}} : !llvm.ptr, !llvm.ptr
// CHECK-NEXT:    llvm.getelementptr %[[FRAME]][0, 2]
// CHECK-NEXT:    llvm.store %[[KF]], %{{.*}} : f32, !llvm.ptr
// CHECK-NEXT:    llvm.getelementptr %[[FRAME]][0, 3]
// CHECK-NEXT:    llvm.store %[[KN]], %{{.*}} : i64, !llvm.ptr
// CHECK:         llvm.mul %{{.*}}, %{{.*}} : i64
// CHECK-NEXT:    %[[N:.*]] = llvm.mul %{{.*}}, %{{.*}} : i64
// CHECK-NEXT:    %[[BODYFN:.*]] = llvm.mlir.addressof @k_par0 : !llvm.ptr
// CHECK-NEXT:    %[[SLOT:.*]] = llvm.mlir.addressof @rotary_parallel_for : !llvm.ptr
// CHECK-NEXT:    %[[LAUNCHER:.*]] = llvm.load %[[SLOT]] : !llvm.ptr -> !llvm.ptr
// CHECK-NEXT:    %[[NULL:.*]] = llvm.mlir.zero : !llvm.ptr
// CHECK-NEXT:    %[[ISNULL:.*]] = llvm.icmp "eq" %[[LAUNCHER]], %[[NULL]] : !llvm.ptr
// CHECK-NEXT:    llvm.cond_br %[[ISNULL]], ^[[DIRECT:.*]], ^[[VIA:.*]]
// CHECK:       ^[[DIRECT]]:
// CHECK-NEXT:    %[[ZERO:.*]] = llvm.mlir.constant(0 : i64) : i64
// CHECK-NEXT:    llvm.call @k_par0(%[[FRAME]], %[[ZERO]], %[[N]]) : (!llvm.ptr, i64, i64) -> ()
// CHECK:       ^[[VIA]]:
// CHECK-NEXT:    llvm.call %[[LAUNCHER]](%[[BODYFN]], %[[FRAME]], %[[N]]) : !llvm.ptr, (!llvm.ptr, !llvm.ptr, i64) -> ()
llvm.func @k(%p: !llvm.ptr, %n: i64, %m: i64, %f: f32) {
  %c0 = llvm.mlir.constant(0 : i64) : i64
  %c1 = llvm.mlir.constant(1 : i64) : i64
  omp.parallel {
    omp.wsloop {
      omp.loop_nest (%i, %j) : i64 = (%c0, %c0) to (%n, %m) step (%c1, %c1) {
        %row = llvm.mul %i, %m : i64
        %idx = llvm.add %row, %j : i64
        %pos = llvm.icmp "sgt" %idx, %c0 : i64
        llvm.cond_br %pos, ^bb1, ^bb2
      ^bb1:
        %a = llvm.getelementptr %p[%idx] : (!llvm.ptr, i64) -> !llvm.ptr, f32
        llvm.store %f, %a : f32, !llvm.ptr
        llvm.br ^bb2
      ^bb2:
        omp.yield
      }
    }
    omp.terminator
  }
  llvm.return
}

// -----

// Two loops in one kernel: two bodies, one launcher slot.
// CHECK-LABEL: llvm.mlir.global external @rotary_parallel_for()
// CHECK-NOT:   llvm.mlir.global
// CHECK-LABEL: llvm.func internal @two_par0(
// CHECK-LABEL: llvm.func internal @two_par1(
// CHECK-LABEL: llvm.func @two(
// CHECK:         llvm.call @two_par0(
// CHECK:         llvm.call @two_par1(
llvm.func @two(%p: !llvm.ptr, %n: i64) {
  %c0 = llvm.mlir.constant(0 : i64) : i64
  %c1 = llvm.mlir.constant(1 : i64) : i64
  %f = llvm.mlir.constant(1.0 : f32) : f32
  omp.parallel {
    omp.wsloop {
      omp.loop_nest (%i) : i64 = (%c0) to (%n) step (%c1) {
        %a = llvm.getelementptr %p[%i] : (!llvm.ptr, i64) -> !llvm.ptr, f32
        llvm.store %f, %a : f32, !llvm.ptr
        omp.yield
      }
    }
    omp.terminator
  }
  omp.parallel {
    omp.wsloop {
      omp.loop_nest (%i) : i64 = (%c0) to (%n) step (%c1) {
        %a = llvm.getelementptr %p[%i] : (!llvm.ptr, i64) -> !llvm.ptr, f32
        %v = llvm.load %a : !llvm.ptr -> f32
        %w = llvm.fadd %v, %v : f32
        llvm.store %w, %a : f32, !llvm.ptr
        omp.yield
      }
    }
    omp.terminator
  }
  llvm.return
}

// -----

// What the pass does not know how to outline is an error, not a silent
// OpenMP leftover.
llvm.func @with_clause(%n: i64) {
  %c0 = llvm.mlir.constant(0 : i64) : i64
  %c1 = llvm.mlir.constant(1 : i64) : i64
  %t = llvm.mlir.constant(2 : i32) : i32
  // expected-error @below {{rotary: an omp.parallel with clauses or several blocks cannot be outlined}}
  omp.parallel num_threads(%t : i32) {
    omp.wsloop {
      omp.loop_nest (%i) : i64 = (%c0) to (%n) step (%c1) {
        omp.yield
      }
    }
    omp.terminator
  }
  llvm.return
}

// -----

llvm.func @nested(%n: i64) {
  %c0 = llvm.mlir.constant(0 : i64) : i64
  %c1 = llvm.mlir.constant(1 : i64) : i64
  omp.parallel {
    // expected-error @below {{rotary: nested omp.parallel}}
    omp.parallel {
      omp.terminator
    }
    omp.terminator
  }
  llvm.return
}
