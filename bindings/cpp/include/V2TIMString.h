// imstatus C++ V2TIM wrapper: V2TIMString (as in V2TIM's V2TIMString.h).
#ifndef IMSTATUS_V2TIM_STRING_H
#define IMSTATUS_V2TIM_STRING_H

#include <stddef.h>

#include <string>
#include <utility>

#include "V2TIMDefine.h"

// A UTF-8 string value, as V2TIM passes them: user IDs, UserSigs, custom statuses, error
// descriptions. Copies are independent. CString() is never NULL and always NUL-terminated; a
// NULL `const char*` is taken as "".
//
// The SDK hands strings to the C library as NUL-terminated UTF-8: a string with an embedded NUL
// byte or invalid UTF-8 is refused by the call it is passed to with ERR_INVALID_PARAMETERS
// (6017), through the callback's OnError.
class TIM_API V2TIMString {
 public:
  V2TIMString() {}
  V2TIMString(const char* str) : str_(str ? str : "") {}
  V2TIMString(const char* str, size_t len) : str_(str ? std::string(str, len) : std::string()) {}
#if defined(__cpp_char8_t)
  // C++20 makes u8"..." a const char8_t[]; V2TIM code writes PushBack(u8"userid1"). (An array,
  // not a pointer, so that V2TIMString(nullptr) stays unambiguous.)
  template <size_t N>
  V2TIMString(const char8_t (&str)[N]) : V2TIMString(reinterpret_cast<const char*>(str)) {}
#endif
  V2TIMString(const V2TIMString& str) : str_(str.str_) {}
  V2TIMString(V2TIMString&& str) noexcept : str_(std::move(str.str_)) {}
  virtual ~V2TIMString() {}

  V2TIMString& operator=(const V2TIMString& str) {
    if (this != &str) str_ = str.str_;
    return *this;
  }
  V2TIMString& operator=(V2TIMString&& str) noexcept {
    if (this != &str) str_ = std::move(str.str_);
    return *this;
  }
  V2TIMString& operator=(const char* str) {
    str_ = str ? str : "";
    return *this;
  }

  bool operator==(const V2TIMString& str) const { return str_ == str.str_; }
  bool operator!=(const V2TIMString& str) const { return str_ != str.str_; }
  bool operator<(const V2TIMString& str) const { return str_ < str.str_; }

  // The byte at `index` (0 <= index < Size(); anything else is undefined behaviour).
  char& operator[](int index) { return str_[static_cast<size_t>(index)]; }

  // Length in bytes, without the terminating NUL.
  size_t Size() const { return str_.size(); }
  size_t Length() const { return str_.size(); }
  bool Empty() const { return str_.empty(); }
  const char* CString() const { return str_.c_str(); }

 private:
  std::string str_;
};

#endif  // IMSTATUS_V2TIM_STRING_H
