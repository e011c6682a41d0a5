// Only the declaration in fuzz_driver.h is needed; SwiftPM wants a source file per C target.
#include "fuzz_driver.h"
