#ifndef CLGRAPH_COPENCL_SHIM_H
#define CLGRAPH_COPENCL_SHIM_H
// Target OpenCL 3.0 headers but only call entry points that exist since 1.2,
// or look them up at run time, so the binary runs on 1.2 and 2.x+ platforms alike.
// clCreateCommandQueue is the only queue call 1.2 platforms have: keep it undeprecated.
#define CL_USE_DEPRECATED_OPENCL_1_2_APIS
#ifndef CL_TARGET_OPENCL_VERSION
#define CL_TARGET_OPENCL_VERSION 300
#endif
#ifdef __APPLE__
#include <OpenCL/opencl.h>
#else
#include <CL/cl.h>
#include <CL/cl_ext.h>
#endif
#endif
