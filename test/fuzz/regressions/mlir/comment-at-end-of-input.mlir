func.func @f() {
  return
}
// a comment that ends the input without a newline