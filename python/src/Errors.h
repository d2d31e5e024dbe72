//===- Errors.h - C++ errors as Python exceptions ---------------*- C++ -*-===//
//
// Every binding runs its body through `guarded`, so that a C++ error reaches
// Python as the exception a PyTorch user expects, with the C++ message and
// without LibTorch's C++ backtrace: c10::TypeError -> TypeError,
// c10::ValueError and std::invalid_argument -> ValueError, anything else ->
// RuntimeError. Nothing escapes as a crash.
//
//===----------------------------------------------------------------------===//

#ifndef ROTARY_PYTHON_ERRORS_H
#define ROTARY_PYTHON_ERRORS_H

#include <c10/util/Exception.h>
#include <pybind11/pybind11.h>

#include <stdexcept>
#include <utility>

namespace rotary::python {

template <typename F> decltype(auto) guarded(F &&f) {
  namespace py = pybind11;
  try {
    return f();
  } catch (const py::error_already_set &) {
    throw;
  } catch (const py::builtin_exception &) {
    throw;
  } catch (const c10::TypeError &e) {
    throw py::type_error(e.what_without_backtrace());
  } catch (const c10::ValueError &e) {
    throw py::value_error(e.what_without_backtrace());
  } catch (const c10::Error &e) {
    throw std::runtime_error(e.what_without_backtrace());
  } catch (const std::invalid_argument &e) {
    throw py::value_error(e.what());
  }
}

} // namespace rotary::python

#endif // ROTARY_PYTHON_ERRORS_H
