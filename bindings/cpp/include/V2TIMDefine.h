// imstatus C++ V2TIM wrapper: export macro and DEFINE_VECTOR (as in V2TIM's V2TIMDefine.h).
//
// The wrapper is header-only: every class is defined inline here and translates to the C ABI of
// libimstatus (imstatus.h). Include "V2TIMManager.h" to get all of it.
#ifndef IMSTATUS_V2TIM_DEFINE_H
#define IMSTATUS_V2TIM_DEFINE_H

#include <stddef.h>

#include <cstddef>

#include <utility>
#include <vector>

// V2TIM marks its exported classes with TIM_API. Nothing here is exported from a library (the
// classes are header-only), so it expands to nothing unless the including project defines it.
#ifndef TIM_API
#define TIM_API
#endif

// DEFINE_VECTOR(T) declares `TX<T>Vector`, a copyable vector of T values, as V2TIM does
// (V2TIMStringVector is TXV2TIMStringVector, V2TIMUserStatusVector is TXV2TIMUserStatusVector).
//
// - operator[] with an index >= Size() is undefined behaviour, as for std::vector.
// - PopBack() on an empty vector and Erase(index) with index >= Size() do nothing.
//
// Use as `DEFINE_VECTOR(T);` (the semicolon completes the class).
#define DEFINE_VECTOR(class_name)                                                              \
  class TIM_API TX##class_name##Vector {                                                       \
   public:                                                                                     \
    TX##class_name##Vector() {}                                                                \
    TX##class_name##Vector(const TX##class_name##Vector& vect) : items_(vect.items_) {}        \
    TX##class_name##Vector(TX##class_name##Vector&& vect) noexcept                             \
        : items_(std::move(vect.items_)) {}                                                    \
    virtual ~TX##class_name##Vector() {}                                                       \
    void PushBack(class_name const& obj) { items_.push_back(obj); }                            \
    void PopBack() {                                                                           \
      if (!items_.empty()) items_.pop_back();                                                  \
    }                                                                                          \
    class_name& operator[](size_t index) { return items_[index]; }                             \
    class_name const& operator[](size_t index) const { return items_[index]; }                 \
    TX##class_name##Vector& operator=(const TX##class_name##Vector& vec) {                     \
      if (this != &vec) items_ = vec.items_;                                                   \
      return *this;                                                                            \
    }                                                                                          \
    TX##class_name##Vector& operator=(TX##class_name##Vector&& vec) noexcept {                 \
      if (this != &vec) items_ = std::move(vec.items_);                                        \
      return *this;                                                                            \
    }                                                                                          \
    size_t Size() const { return items_.size(); }                                              \
    bool Empty() const { return items_.empty(); }                                              \
    void Clear() { items_.clear(); }                                                           \
    void Erase(size_t index) {                                                                 \
      if (index < items_.size())                                                               \
        items_.erase(items_.begin() + static_cast<std::ptrdiff_t>(index));                     \
    }                                                                                          \
                                                                                               \
   private:                                                                                    \
    std::vector<class_name> items_;                                                            \
  }

#endif  // IMSTATUS_V2TIM_DEFINE_H
