/* A stand-in for the part of libdispatch the wrapper uses when built with IMS_V2TIM_MAIN_QUEUE
 * (as on Apple platforms, where <dispatch/dispatch.h> is the system's): the main queue and
 * dispatch_async_f. tests/objc/main_queue.m implements it with a queue that the test's main thread
 * drains, so the main-queue path runs for real on Linux, where Debian has no libdispatch. The
 * declarations match libdispatch's. */
#ifndef IMS_TEST_DISPATCH_STUB_H
#define IMS_TEST_DISPATCH_STUB_H

typedef struct ims_test_dispatch_queue *dispatch_queue_t;
typedef void (*dispatch_function_t)(void *);

dispatch_queue_t dispatch_get_main_queue(void);
void dispatch_async_f(dispatch_queue_t queue, void *context, dispatch_function_t work);

#endif
