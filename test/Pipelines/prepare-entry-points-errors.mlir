// RUN: rotary-opt %s -rotary-prepare-entry-points -split-input-file -verify-diagnostics

// Entry points that rotary-prepare-entry-points must refuse, each reported
// on the function.

// A scalar argument has no place in the bundle ABI (memref descriptors).
// expected-error @+1 {{rotary: entry 'scalar_arg' must take and return ranked tensors only, got 'f32'}}
func.func @scalar_arg(%x: tensor<4xf32>, %s: f32) -> tensor<4xf32> {
  return %x : tensor<4xf32>
}

// -----

// expected-error @+1 {{rotary: entry 'scalar_result' must take and return ranked tensors only, got 'index'}}
func.func @scalar_result(%x: tensor<?xf32>) -> index {
  %c0 = arith.constant 0 : index
  %d = tensor.dim %x, %c0 : tensor<?xf32>
  return %d : index
}

// -----

// expected-error @+1 {{rotary: entry 'unranked' must take and return ranked tensors only, got 'tensor<*xf32>'}}
func.func @unranked(%x: tensor<*xf32>) -> tensor<*xf32> {
  return %x : tensor<*xf32>
}

// -----

// A private function with any signature is not an entry and is accepted;
// the public one next to it with a bad signature is still reported.
func.func private @helper(%s: f32) -> f32 {
  return %s : f32
}
// expected-error @+1 {{rotary: entry 'memref_arg' must take and return ranked tensors only, got 'memref<4xf32>'}}
func.func @memref_arg(%m: memref<4xf32>) -> tensor<4xf32> {
  %t = bufferization.to_tensor %m : memref<4xf32> to tensor<4xf32>
  return %t : tensor<4xf32>
}

// -----

// An output size that depends on data, not on input sizes, cannot be
// allocated by the caller.
// expected-error @+1 {{rotary: size 0 of a result of 'data_dependent' is not a size of an input}}
func.func @data_dependent(%x: tensor<?x4xf32>, %n: tensor<index>) -> tensor<?xf32> {
  %k = tensor.extract %n[] : tensor<index>
  %e = tensor.empty(%k) : tensor<?xf32>
  return %e : tensor<?xf32>
}

// -----

// The checks and output sizes see through calls of other entries; a call
// that never ends is refused rather than inlined forever.
// expected-error @+1 {{rotary: the calls in entry 'forever' do not end (a recursive call?)}}
func.func @forever(%x: tensor<?xf32>) -> tensor<?xf32> {
  %y = call @forever(%x) : (tensor<?xf32>) -> tensor<?xf32>
  return %y : tensor<?xf32>
}

// -----

// What a check would need of an external function is computed on data.
func.func private @opaque(tensor<?xf32>) -> tensor<?xf32>
// expected-error @+1 {{rotary: size 0 of a result of 'calls_opaque' is not a size of an input}}
func.func @calls_opaque(%x: tensor<?xf32>) -> tensor<?xf32> {
  %y = call @opaque(%x) : (tensor<?xf32>) -> tensor<?xf32>
  return %y : tensor<?xf32>
}
