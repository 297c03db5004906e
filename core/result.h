// Result<T>: a value or a reason it could not be produced. Parsers of network and file input return
// this (never throw, never abort). Reasons are static strings so that an error costs no allocation
// and can be counted in stats by pointer or printed as is.
#pragma once

#include <cassert>
#include <utility>
#include <variant>

namespace tern {

struct Error {
  const char* reason;  // static storage, never null
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Error e) : v_(e) {}                 // NOLINT

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { assert(ok()); return std::get<0>(v_); }
  const T& value() const& { assert(ok()); return std::get<0>(v_); }
  T&& value() && { assert(ok()); return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  // The reason for failure; "" when ok().
  const char* error() const { return ok() ? "" : std::get<1>(v_).reason; }

 private:
  std::variant<T, Error> v_;
};

// Status: success or a reason, for operations that return nothing else.
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Error e) : reason_(e.reason) {}  // NOLINT
  static Status Ok() { return Status(); }
  bool ok() const { return reason_ == nullptr; }
  explicit operator bool() const { return ok(); }
  const char* error() const { return reason_ ? reason_ : ""; }

 private:
  const char* reason_ = nullptr;
};

}  // namespace tern
