/* Debian's GNUstep headers include <objc/blocks_runtime.h>, which GCC's runtime lacks: the blocks
   runtime (libBlocksRuntime) provides the same declarations in <Block.h>. */
#include <Block.h>
