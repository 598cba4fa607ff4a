/* For the ARC compile check only (tests/objc_api.rs): GCC's <objc/runtime.h> dereferences `id` in
   an inline function (object_getClass), which clang refuses outside the GCC runtime. Here `id`
   means a plain C pointer to the object struct while that header is read. */
#include <objc/objc.h>
typedef struct objc_object *ims_gcc_plain_id;
#define id ims_gcc_plain_id
#include_next <objc/runtime.h>
#undef id
