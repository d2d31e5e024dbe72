// RUN: rotary-opt %s -rotary-gpu-map-parallel-loops="block-size=128 tile-block-size=32" | FileCheck %s
// RUN: not rotary-opt %s -rotary-gpu-map-parallel-loops=block-size=48 2>&1 | FileCheck %s --check-prefix=WARP

// rotary-gpu-map-parallel-loops (lib/Pipelines/GpuMapParallelLoops.cpp):
// one thread per iteration of an outermost scf.parallel, the innermost
// dimension varying fastest across threads; a warp per iteration when a
// thread's sum is split across lanes; one block per iteration of a loop
// over tiles; host code that touches buffers as a one-thread kernel;
// host buffers on the device.

// CHECK-LABEL: func.func @copy_rows(
// CHECK-SAME:    %[[A:[^:]*]]: memref<?x?xf32>, %[[B:[^:]*]]: memref<?x?xf32>)
// CHECK-DAG:     %[[C0:.*]] = arith.constant 0 : index
// CHECK-DAG:     %[[C1:.*]] = arith.constant 1 : index
// CHECK-DAG:     %[[C2:.*]] = arith.constant 2 : index
// CHECK-DAG:     %[[N:.*]] = memref.dim %[[A]], %[[C0]]
// CHECK-DAG:     %[[M:.*]] = memref.dim %[[A]], %[[C1]]
// CHECK:         %[[TMP:.*]] = gpu.alloc (%[[M]]) : memref<?xf32>
// Iterations per dimension: ceil(max(ub - lb, 0) / step); their product.
// CHECK:         %[[S0:.*]] = arith.subi %[[N]], %[[C1]]
// CHECK:         %[[P0:.*]] = arith.maxsi %[[S0]]
// CHECK:         %[[N0:.*]] = arith.ceildivui %[[P0]], %[[C2]]
// CHECK:         %[[S1:.*]] = arith.subi %[[M]], %[[C0]]
// CHECK:         %[[P1:.*]] = arith.maxsi %[[S1]]
// CHECK:         %[[N1:.*]] = arith.ceildivui %[[P1]], %[[C1]]
// CHECK:         %[[TOTAL:.*]] = arith.muli %{{.*}}, %[[N1]]
// CHECK:         %[[BS:.*]] = arith.constant 128 : index
// CHECK:         %[[GRID:.*]] = arith.ceildivui %[[TOTAL]], %[[BS]]
// No iterations, no launch.
// CHECK:         %[[ANY:.*]] = arith.cmpi ugt, %[[TOTAL]]
// CHECK:         scf.if %[[ANY]] {
// CHECK:           gpu.launch blocks(%[[BX:.*]], %{{.*}}, %{{.*}}) in (%{{.*}} = %[[GRID]], %{{.*}} = %{{.*}}, %{{.*}} = %{{.*}}) threads(%[[TX:.*]], %{{.*}}, %{{.*}}) in (%{{.*}} = %[[BS]],
// CHECK:             %[[BASE:.*]] = arith.muli %[[BX]], %[[BS]]
// CHECK:             %[[ID:.*]] = arith.addi %[[BASE]], %[[TX]]
// CHECK:             %[[IN:.*]] = arith.cmpi ult, %[[ID]], %[[TOTAL]]
// CHECK:             scf.if %[[IN]] {
// The column (innermost) index is the id modulo the column count.
// CHECK:               %[[J0:.*]] = arith.remui %[[ID]], %[[N1]]
// CHECK:               %[[I0:.*]] = arith.divui %[[ID]], %[[N1]]
// CHECK:               %[[JS:.*]] = arith.muli %[[J0]], %[[C1]]
// CHECK:               %[[J:.*]] = arith.addi %[[C0]], %[[JS]]
// CHECK:               %[[IS:.*]] = arith.muli %[[I0]], %[[C2]]
// CHECK:               %[[I:.*]] = arith.addi %[[C1]], %[[IS]]
// CHECK:               %[[V:.*]] = memref.load %[[A]][%[[I]], %[[J]]]
// CHECK:               memref.store %[[V]], %[[B]][%[[I]], %[[J]]]
// CHECK:             gpu.terminator
// CHECK:         gpu.dealloc %[[TMP]] : memref<?xf32>
// CHECK-NOT:     scf.parallel
// CHECK:         return
func.func @copy_rows(%a: memref<?x?xf32>, %b: memref<?x?xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %n = memref.dim %a, %c0 : memref<?x?xf32>
  %m = memref.dim %a, %c1 : memref<?x?xf32>
  %t = memref.alloc(%m) : memref<?xf32>
  scf.parallel (%i, %j) = (%c1, %c0) to (%n, %m) step (%c2, %c1) {
    %v = memref.load %a[%i, %j] : memref<?x?xf32>
    memref.store %v, %b[%i, %j] : memref<?x?xf32>
    scf.reduce
  }
  memref.dealloc %t : memref<?xf32>
  return
}

// Two loops, two launches, in order.
// CHECK-LABEL: func.func @two_loops(
// CHECK:         gpu.launch
// CHECK:           memref.store %{{.*}}, %{{.*}}[%{{.*}}] : memref<8xf32>
// CHECK:         gpu.launch
// CHECK:           memref.load %{{.*}}[%{{.*}}] : memref<8xf32>
// CHECK-NOT:     gpu.launch
func.func @two_loops(%a: memref<8xf32>, %b: memref<8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %z = arith.constant 0.0 : f32
  scf.parallel (%i) = (%c0) to (%c8) step (%c1) {
    memref.store %z, %a[%i] : memref<8xf32>
    scf.reduce
  }
  scf.parallel (%i) = (%c0) to (%c8) step (%c1) {
    %v = memref.load %a[%i] : memref<8xf32>
    memref.store %v, %b[%i] : memref<8xf32>
    scf.reduce
  }
  return
}

// A loop over tiles: one block per tile; the block's 32 threads stride
// through each inner loop, a barrier between the two (the second reads
// what other threads of the first wrote). The tile's views are computed
// in every thread.
// CHECK-LABEL: func.func @tiles(
// CHECK-SAME:    %[[A:[^:]*]]: memref<?x?xf32>, %[[B:[^:]*]]: memref<?x?xf32>)
// CHECK:         arith.ceildivui %{{.*}}, %[[C4:.*]] : index
// CHECK:         %[[TILES:.*]] = arith.muli
// CHECK:         %[[T32:.*]] = arith.constant 32 : index
// CHECK:         scf.if
// CHECK:           gpu.launch blocks(%[[BX:.*]], %{{.*}}, %{{.*}}) in (%{{.*}} = %[[TILES]], %{{.*}} = %{{.*}}, %{{.*}} = %{{.*}}) threads(%[[TX:.*]], %{{.*}}, %{{.*}}) in (%{{.*}} = %[[T32]],
// CHECK:             %[[TS:.*]] = arith.muli %[[BX]], %[[C4]]
// CHECK:             %[[T:.*]] = arith.addi %{{.*}}, %[[TS]]
// CHECK:             %[[VA:.*]] = memref.subview %[[A]][%[[T]], 0]
// CHECK:             %[[VB:.*]] = memref.subview %[[B]][%[[T]], 0]
// CHECK:             scf.for %{{.*}} = %[[TX]] to %{{.*}} step %[[T32]] {
// CHECK:               memref.load %[[VA]]
// CHECK:               memref.store %{{.*}}, %[[VB]]
// CHECK:             }
// CHECK-NEXT:        gpu.barrier
// CHECK:             scf.for %{{.*}} = %[[TX]] to %{{.*}} step %[[T32]] {
// CHECK:               memref.load %[[VB]]
// CHECK:               memref.store %{{.*}}, %[[VA]]
// CHECK:             }
// CHECK-NEXT:        gpu.terminator
// CHECK-NOT:     scf.parallel
// CHECK:         return
func.func @tiles(%a: memref<?x?xf32>, %b: memref<?x?xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %n = memref.dim %a, %c0 : memref<?x?xf32>
  %m = memref.dim %a, %c1 : memref<?x?xf32>
  scf.parallel (%t) = (%c0) to (%n) step (%c4) {
    %rows = affine.min affine_map<(d0)[s0] -> (4, s0 - d0)>(%t)[%n]
    %va = memref.subview %a[%t, 0] [%rows, %m] [1, 1]
        : memref<?x?xf32> to memref<?x?xf32, strided<[?, 1], offset: ?>>
    %vb = memref.subview %b[%t, 0] [%rows, %m] [1, 1]
        : memref<?x?xf32> to memref<?x?xf32, strided<[?, 1], offset: ?>>
    scf.parallel (%i, %j) = (%c0, %c0) to (%rows, %m) step (%c1, %c1) {
      %v = memref.load %va[%i, %j] : memref<?x?xf32, strided<[?, 1], offset: ?>>
      memref.store %v, %vb[%i, %j] : memref<?x?xf32, strided<[?, 1], offset: ?>>
      scf.reduce
    }
    scf.parallel (%j) = (%c0) to (%m) step (%c1) {
      %v = memref.load %vb[%c0, %j] : memref<?x?xf32, strided<[?, 1], offset: ?>>
      memref.store %v, %va[%c0, %j] : memref<?x?xf32, strided<[?, 1], offset: ?>>
      scf.reduce
    }
    scf.reduce
  }
  return
}

// A tile's buffers whose sizes the host knows only at run time (a head
// dimension: %d, or a size taken in the tile of a buffer from outside it,
// %m, computed again before the launch) are the block's dynamic shared memory, laid out one
// after the other with 16-byte aligned offsets the host computes; the
// launch gets their total, and the kernel views them at their offsets.
// A buffer with a bounded size stays a workgroup attribution.
// CHECK-LABEL: func.func @tile_dynamic_buffers(
// CHECK-SAME:    %[[A:[^:]*]]: memref<?x?xf32>
// CHECK:         %[[D:.*]] = memref.dim %[[A]], %c1
// CHECK:         %[[B0:.*]] = arith.muli %c16{{.*}}, %[[D]]
// CHECK:         %[[S0:.*]] = arith.ceildivui %[[B0]], %c16
// CHECK:         %[[A0:.*]] = arith.muli %[[S0]], %c16
// CHECK:         %[[OFF1:.*]] = arith.addi %c0{{.*}}, %[[A0]]
// CHECK:         %[[M:.*]] = memref.dim %[[A]], %c1
// CHECK:         %[[B1:.*]] = arith.muli %c4{{.*}}, %[[M]]
// CHECK:         %[[S1:.*]] = arith.ceildivui %[[B1]], %c16
// CHECK:         %[[A1:.*]] = arith.muli %[[S1]], %c16
// CHECK:         %[[TOTAL:.*]] = arith.addi %[[OFF1]], %[[A1]]
// CHECK:         %[[BYTES:.*]] = arith.index_cast %[[TOTAL]] : index to i32
// CHECK:         gpu.launch {{.*}} dynamic_shared_memory_size %[[BYTES]] workgroup(%[[STAT:[^ ]*]] : memref<4xf32, #gpu.address_space<workgroup>>)
// CHECK:           %[[BASE:.*]] = gpu.dynamic_shared_memory : memref<?xi8, #gpu.address_space<workgroup>>
// CHECK:           memref.view %[[BASE]][%c0{{.*}}][%[[D]]] : memref<?xi8, #gpu.address_space<workgroup>> to memref<4x?xf32, #gpu.address_space<workgroup>>
// CHECK:           memref.view %[[BASE]][%[[OFF1]]][%[[M]]] : memref<?xi8, #gpu.address_space<workgroup>> to memref<?xf32, #gpu.address_space<workgroup>>
// CHECK:           gpu.terminator
func.func @tile_dynamic_buffers(%a: memref<?x?xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %z = arith.constant 0.0 : f32
  %n = memref.dim %a, %c0 : memref<?x?xf32>
  %d = memref.dim %a, %c1 : memref<?x?xf32>
  scf.parallel (%t) = (%c0) to (%n) step (%c4) {
    %rows = affine.min affine_map<(d0)[s0] -> (4, s0 - d0)>(%t)[%n]
    %va = memref.subview %a[%t, 0] [%rows, %d] [1, 1]
        : memref<?x?xf32> to memref<?x?xf32, strided<[?, 1], offset: ?>>
    %m = memref.dim %a, %c1 : memref<?x?xf32>
    %tile = memref.alloc(%d) : memref<4x?xf32>
    %row = memref.alloc(%m) : memref<?xf32>
    %stat = memref.alloc(%rows) : memref<?xf32>
    scf.parallel (%i, %j) = (%c0, %c0) to (%rows, %d) step (%c1, %c1) {
      %v = memref.load %va[%i, %j] : memref<?x?xf32, strided<[?, 1], offset: ?>>
      memref.store %v, %tile[%i, %j] : memref<4x?xf32>
      scf.reduce
    }
    scf.parallel (%j) = (%c0) to (%m) step (%c1) {
      %v = memref.load %tile[%c0, %j] : memref<4x?xf32>
      memref.store %v, %row[%j] : memref<?xf32>
      scf.reduce
    }
    scf.parallel (%i) = (%c0) to (%rows) step (%c1) {
      memref.store %z, %stat[%i] : memref<?xf32>
      scf.reduce
    }
    scf.parallel (%i, %j) = (%c0, %c0) to (%rows, %d) step (%c1, %c1) {
      %v = memref.load %row[%j] : memref<?xf32>
      %s = memref.load %stat[%i] : memref<?xf32>
      %w = arith.addf %v, %s : f32
      memref.store %w, %va[%i, %j] : memref<?x?xf32, strided<[?, 1], offset: ?>>
      scf.reduce
    }
    memref.dealloc %tile : memref<4x?xf32>
    memref.dealloc %row : memref<?xf32>
    memref.dealloc %stat : memref<?xf32>
    scf.reduce
  }
  return
}

// A tile with buffers and a sequential loop over blocks of its input (the
// shape of an attention tile's loop over key tiles): the buffers become
// the block's shared memory (16-byte aligned once outlined), a
// dynamically sized one a view of its bound (the tile size 4 of an
// affine.min) with the bound's strides, a static one itself; every thread runs the sequential
// loop, with a barrier before it, between its thread loops and at the end
// of each iteration; the deallocations go.
// CHECK-LABEL: func.func @tile_loop(
// CHECK-SAME:    %[[A:[^:]*]]: memref<?x8xf32>, %[[B:[^:]*]]: memref<?x8xf32>)
// CHECK:         gpu.launch {{.*}} threads(%[[TX:[^,]*]], {{.*}} workgroup(%[[ACC:[^ ]*]] : memref<4x8xf32, #gpu.address_space<workgroup>>, %[[BLK:[^ ]*]] : memref<4x8xf32, #gpu.address_space<workgroup>>)
// CHECK:           %[[ROWS:.*]] = affine.min
// CHECK:           %[[VACC:.*]] = memref.subview %[[ACC]][0, 0] [%[[ROWS]], 8] [1, 1] : memref<4x8xf32, #gpu.address_space<workgroup>> to memref<?x8xf32, strided<[8, 1]>, #gpu.address_space<workgroup>>
// CHECK:           scf.for %{{.*}} = %[[TX]]
// CHECK:             memref.store %{{.*}}, %[[VACC]]
// CHECK:           }
// CHECK-NEXT:      gpu.barrier
// CHECK-NEXT:      scf.for %{{.*}} = %{{.*}} to %{{.*}} step %{{.*}} {
// CHECK:             scf.for %{{.*}} = %[[TX]]
// CHECK:               memref.store %{{.*}}, %[[BLK]]
// CHECK:             }
// CHECK-NEXT:        gpu.barrier
// CHECK:             scf.for %{{.*}} = %[[TX]]
// CHECK:               memref.load %[[BLK]]
// CHECK:               memref.store %{{.*}}, %[[VACC]]
// CHECK:             }
// CHECK-NEXT:        gpu.barrier
// CHECK-NEXT:      }
// CHECK-NEXT:      %{{.*}} = memref.subview %[[B]]
// CHECK-NOT:       gpu.barrier
// CHECK:           scf.for %{{.*}} = %[[TX]]
// CHECK:             memref.load %[[VACC]]
// CHECK:           }
// CHECK-NOT:       memref.dealloc
// CHECK:           gpu.terminator
func.func @tile_loop(%a: memref<?x8xf32>, %b: memref<?x8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %z = arith.constant 0.0 : f32
  %n = memref.dim %a, %c0 : memref<?x8xf32>
  scf.parallel (%t) = (%c0) to (%n) step (%c4) {
    %rows = affine.min affine_map<(d0)[s0] -> (4, s0 - d0)>(%t)[%n]
    %acc = memref.alloc(%rows) : memref<?x8xf32>
    scf.parallel (%i, %j) = (%c0, %c0) to (%rows, %c8) step (%c1, %c1) {
      memref.store %z, %acc[%i, %j] : memref<?x8xf32>
      scf.reduce
    }
    scf.for %k = %c0 to %n step %c4 {
      %blk = memref.alloc() : memref<4x8xf32>
      scf.parallel (%i, %j) = (%c0, %c0) to (%c4, %c8) step (%c1, %c1) {
        %r = arith.addi %k, %i : index
        %v = memref.load %a[%r, %j] : memref<?x8xf32>
        memref.store %v, %blk[%i, %j] : memref<4x8xf32>
        scf.reduce
      }
      scf.parallel (%i, %j) = (%c0, %c0) to (%rows, %c8) step (%c1, %c1) {
        %v = memref.load %blk[%i, %j] : memref<4x8xf32>
        %s = memref.load %acc[%i, %j] : memref<?x8xf32>
        %w = arith.addf %v, %s : f32
        memref.store %w, %acc[%i, %j] : memref<?x8xf32>
        scf.reduce
      }
      memref.dealloc %blk : memref<4x8xf32>
    }
    %vb = memref.subview %b[%t, 0] [%rows, 8] [1, 1]
        : memref<?x8xf32> to memref<?x8xf32, strided<[8, 1], offset: ?>>
    scf.parallel (%i, %j) = (%c0, %c0) to (%rows, %c8) step (%c1, %c1) {
      %v = memref.load %acc[%i, %j] : memref<?x8xf32>
      memref.store %v, %vb[%i, %j] : memref<?x8xf32, strided<[8, 1], offset: ?>>
      scf.reduce
    }
    memref.dealloc %acc : memref<?x8xf32>
    scf.reduce
  }
  return
}

// A tile's own code that writes memory (a scatter into partial sums, which
// iterations of a thread loop would race on) is a serial step: thread 0
// runs it, between barriers.
// CHECK-LABEL: func.func @tile_serial_step(
// CHECK:         gpu.launch {{.*}} threads(%[[TX:[^,]*]], {{.*}} workgroup(%[[BUF:[^ ]*]] : memref<8xf32, #gpu.address_space<workgroup>>)
// CHECK:           scf.for %{{.*}} = %[[TX]]
// CHECK:             memref.store %{{.*}}, %[[BUF]]
// CHECK:           }
// CHECK-NEXT:      gpu.barrier
// CHECK-NEXT:      %[[Z:.*]] = arith.constant 0 : index
// CHECK-NEXT:      %[[LEAD:.*]] = arith.cmpi eq, %[[TX]], %[[Z]] : index
// CHECK-NEXT:      scf.if %[[LEAD]] {
// CHECK-NEXT:        scf.for
// CHECK:               memref.store %{{.*}}, %[[BUF]]
// CHECK-NEXT:        }
// CHECK-NEXT:      }
// CHECK-NEXT:      gpu.barrier
// CHECK:           scf.for %{{.*}} = %[[TX]]
// CHECK:             memref.load %[[BUF]]
func.func @tile_serial_step(%a: memref<4x8xf32>, %idx: memref<4x8xindex>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %z = arith.constant 0.0 : f32
  scf.parallel (%t) = (%c0) to (%c4) step (%c1) {
    %buf = memref.alloc() : memref<8xf32>
    scf.parallel (%j) = (%c0) to (%c8) step (%c1) {
      memref.store %z, %buf[%j] : memref<8xf32>
      scf.reduce
    }
    scf.for %j = %c0 to %c8 step %c1 {
      %to = memref.load %idx[%t, %j] : memref<4x8xindex>
      %v = memref.load %a[%t, %j] : memref<4x8xf32>
      %s = memref.load %buf[%to] : memref<8xf32>
      %w = arith.addf %s, %v : f32
      memref.store %w, %buf[%to] : memref<8xf32>
    }
    scf.parallel (%j) = (%c0) to (%c8) step (%c1) {
      %v = memref.load %buf[%j] : memref<8xf32>
      memref.store %v, %a[%t, %j] : memref<4x8xf32>
      scf.reduce
    }
    scf.reduce
  }
  return
}

// Sequential loops nested in a tile's sequential loop are every thread's
// too: the barriers close each iteration of both.
// CHECK-LABEL: func.func @tile_nested_loops(
// CHECK:         gpu.launch
// CHECK:           scf.for %{{.*}} = %c0 to %c2 step %c1 {
// CHECK-NEXT:        scf.for %{{.*}} = %c0 to %c2 step %c1 {
// CHECK:               scf.for %{{.*}} = %{{.*}} to %{{.*}} step %c32 {
// CHECK:                 memref.store
// CHECK:               }
// CHECK-NEXT:          gpu.barrier
// CHECK-NEXT:        }
// CHECK-NEXT:        gpu.barrier
// CHECK-NEXT:      }
func.func @tile_nested_loops(%a: memref<4x2x2x8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %z = arith.constant 0.0 : f32
  scf.parallel (%t) = (%c0) to (%c4) step (%c1) {
    scf.for %i = %c0 to %c2 step %c1 {
      scf.for %j = %c0 to %c2 step %c1 {
        scf.parallel (%k) = (%c0) to (%c8) step (%c1) {
          memref.store %z, %a[%t, %i, %j, %k] : memref<4x2x2x8xf32>
          scf.reduce
        }
      }
    }
    scf.reduce
  }
  return
}

// Host code that reads and writes buffers (a sum, then a scalar result
// computed from it) runs as one kernel of one thread; the allocation and
// what only computes sizes stay on the host.
// CHECK-LABEL: func.func @serial(
// CHECK-SAME:    %[[A:[^:]*]]: memref<?xf32>, %[[S:[^:]*]]: memref<f32>)
// CHECK:         %[[N:.*]] = memref.dim %[[A]]
// CHECK:         %[[ACC:.*]] = gpu.alloc () : memref<f32>
// CHECK:         gpu.launch blocks(%{{.*}}) in (%{{.*}} = %[[ONE:[^,]*]], %{{.*}} = %{{.*}}, %{{.*}} = %{{.*}}) threads(%{{.*}}) in (%{{.*}} = %[[ONE]],
// CHECK-NEXT:      memref.store %{{.*}}, %[[ACC]][]
// CHECK-NEXT:      scf.for %{{.*}} = %{{.*}} to %[[N]]
// CHECK:           }
// CHECK-NEXT:      %[[R:.*]] = memref.load %[[ACC]][]
// CHECK-NEXT:      %[[H:.*]] = arith.mulf %[[R]], %[[R]]
// CHECK-NEXT:      memref.store %[[H]], %[[S]][]
// CHECK-NEXT:      gpu.terminator
// CHECK:         gpu.dealloc %[[ACC]]
func.func @serial(%a: memref<?xf32>, %s: memref<f32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %z = arith.constant 0.0 : f32
  %n = memref.dim %a, %c0 : memref<?xf32>
  %acc = memref.alloc() : memref<f32>
  memref.store %z, %acc[] : memref<f32>
  scf.for %i = %c0 to %n step %c1 {
    %v = memref.load %a[%i] : memref<?xf32>
    %p = memref.load %acc[] : memref<f32>
    %q = arith.addf %p, %v : f32
    memref.store %q, %acc[] : memref<f32>
  }
  %r = memref.load %acc[] : memref<f32>
  %h = arith.mulf %r, %r : f32
  memref.store %h, %s[] : memref<f32>
  memref.dealloc %acc : memref<f32>
  return
}

// A sum over the lanes of a warp (rotary-gpu-lane-reductions): a warp per
// iteration, 32 threads per iteration in the grid; each lane adds its
// terms, then five xor shuffles leave the whole sum in every lane. The
// block must hold whole warps.
// WARP: error: rotary-gpu-pipeline: lane sums need a block-size that is a multiple of 32, not 48
// CHECK-LABEL: func.func @lane_sums(
// CHECK-SAME:    %[[X:[^:]*]]: memref<?x32xf32>, %[[OUT:[^:]*]]: memref<?xf32>)
// CHECK:         %[[TOTAL:.*]] = arith.muli %{{.*}}, %{{.*}} : index
// CHECK:         %[[BS:.*]] = arith.constant 128 : index
// CHECK:         %[[C32:.*]] = arith.constant 32 : index
// CHECK:         %[[THREADS:.*]] = arith.muli %[[TOTAL]], %[[C32]]
// CHECK:         %[[GRID:.*]] = arith.ceildivui %[[THREADS]], %[[BS]]
// CHECK:           gpu.launch blocks(%[[BX:.*]], %{{.*}}, %{{.*}}) in (%{{.*}} = %[[GRID]],
// CHECK:             %[[ID:.*]] = arith.addi
// CHECK:             %[[LANE:.*]] = arith.remui %[[ID]], %[[C32]]
// CHECK:             %[[ROW:.*]] = arith.divui %[[ID]], %[[C32]]
// CHECK:             arith.cmpi ult, %[[ROW]], %[[TOTAL]]
// CHECK:               %[[V:.*]] = memref.load %[[X]][%{{.*}}, %[[LANE]]]
// CHECK:               %[[S16:.*]], %{{.*}} = gpu.shuffle  xor %[[V]], %{{.*}}, %{{.*}} : f32
// CHECK:               %[[A16:.*]] = arith.addf %[[V]], %[[S16]]
// CHECK:               gpu.shuffle  xor %[[A16]]
// CHECK:               gpu.shuffle  xor
// CHECK:               gpu.shuffle  xor
// CHECK:               %[[S1:.*]], %{{.*}} = gpu.shuffle  xor
// CHECK:               %[[A1:.*]] = arith.addf %{{.*}}, %[[S1]]
// CHECK:               %[[SUM:.*]] = arith.addf %{{.*}}, %[[A1]]
// CHECK:               memref.store %[[SUM]], %[[OUT]]
// CHECK-NOT:     scf.parallel
func.func @lane_sums(%x: memref<?x32xf32>, %out: memref<?xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c32 = arith.constant 32 : index
  %z = arith.constant 0.0 : f32
  %n = memref.dim %x, %c0 : memref<?x32xf32>
  scf.parallel (%i) = (%c0) to (%n) step (%c1) {
    %s = scf.parallel (%l) = (%c0) to (%c32) step (%c1) init (%z) -> f32 {
      %v = memref.load %x[%i, %l] : memref<?x32xf32>
      scf.reduce(%v : f32) {
      ^bb0(%a: f32, %b: f32):
        %t = arith.addf %a, %b : f32
        scf.reduce.return %t : f32
      }
    }
    memref.store %s, %out[%i] : memref<?xf32>
    scf.reduce
  }
  return
}

// Subviews made on the host (a column per angle, say) are made again inside
// the kernel that reads them, which then takes the buffer they cut: each
// strided view would otherwise be a kernel argument of its own.
// CHECK-LABEL: func.func @subviews_in_kernel(
// CHECK-SAME:    %[[A:[^:]*]]: memref<?x3xf32>, %[[OUT:[^:]*]]: memref<?xf32>)
// CHECK:         gpu.launch
// CHECK-DAG:       %[[C0:.*]] = memref.subview %[[A]][0, 0] [%{{.*}}, 1] [1, 1]
// CHECK-DAG:       %[[C2:.*]] = memref.subview %[[A]][0, 2] [%{{.*}}, 1] [1, 1]
// CHECK:           memref.load %[[C0]]
// CHECK:           memref.load %[[C2]]
// CHECK:         return
func.func @subviews_in_kernel(%a: memref<?x3xf32>, %out: memref<?xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n = memref.dim %a, %c0 : memref<?x3xf32>
  %col0 = memref.subview %a[0, 0] [%n, 1] [1, 1] : memref<?x3xf32> to memref<?xf32, strided<[3]>>
  %col2 = memref.subview %a[0, 2] [%n, 1] [1, 1] : memref<?x3xf32> to memref<?xf32, strided<[3], offset: 2>>
  scf.parallel (%i) = (%c0) to (%n) step (%c1) {
    %x = memref.load %col0[%i] : memref<?xf32, strided<[3]>>
    %y = memref.load %col2[%i] : memref<?xf32, strided<[3], offset: 2>>
    %s = arith.addf %x, %y : f32
    memref.store %s, %out[%i] : memref<?xf32>
    scf.reduce
  }
  return
}
