/* SGEMM through CLBlast on an OpenCL device, in clbench's JSON schema.
 *
 *   cc -O2 -o clblast_sgemm Benchmarks/peers/clblast_sgemm.c $(pkg-config --cflags --libs clblast OpenCL) -lm
 *   ./clblast_sgemm --sizes 256,512,1024,2048 [--device 0] [--peak-gflops 214] > clblast.json
 *   ./clblast_sgemm --m 128 --n 512 --k 144 --transpose-b
 *   clbench compare clblast.json clgraph.json
 *
 * Same shapes and layouts as `clbench matmul` (row-major; --transpose-a: A stored [K, M];
 * --transpose-b: B stored [N, K]). Each size: one validated call (float64 reference on up to 48
 * sampled rows), --warmup calls, then --iters timed calls. CLBlast may launch several kernels
 * (padding, transposes, GEMM) and returns only the last one's event, so kernel_median_ms and the
 * rates use wall time per call (one clFinish included); the last kernel's median is reported as
 * last_kernel_median_ms. --device indexes all
 * devices of all platforms in order, as `clbench devices` does. CLBlast uses its tuned parameters
 * for known devices and its defaults elsewhere (pocl: defaults).
 */
#define CL_TARGET_OPENCL_VERSION 120
#include <clblast_c.h>
#include <CL/cl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int compare_doubles(const void *a, const void *b) {
    const double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n) {
    qsort(v, n, sizeof(double), compare_doubles);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static uint64_t rng_state = 0x1234567;
static float uniform(void) {
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (float)((rng_state >> 40) & 0xFFFFFF) / (float)(1 << 23) - 1.0f;
}

static void json_string(const char *s) {
    putchar('"');
    for (; *s; ++s) {
        if (*s == '"' || *s == '\\') putchar('\\');
        if ((unsigned char)*s >= 0x20) putchar(*s);
    }
    putchar('"');
}

#define CHECK(call) do { cl_int e_ = (call); if (e_ != CL_SUCCESS) { fprintf(stderr, "%s failed: %d\n", #call, e_); exit(70); } } while (0)

int main(int argc, char **argv) {
    const char *sizes = "256,512,1024";
    int m1 = 0, n1 = 0, k1 = 0, tA = 0, tB = 0, iters = 20, warmup = 3, deviceIndex = 0;
    double peak = 0;
    for (int i = 1; i < argc; ++i) {
        const char *arg = argv[i];
        const char *value = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(arg, "--transpose-a")) { tA = 1; continue; }
        if (!strcmp(arg, "--transpose-b")) { tB = 1; continue; }
        if (!value) { fprintf(stderr, "usage: see the comment at the top of clblast_sgemm.c (bad or incomplete '%s')\n", arg); return 64; }
        if (!strcmp(arg, "--sizes")) sizes = value;
        else if (!strcmp(arg, "--m")) m1 = atoi(value);
        else if (!strcmp(arg, "--n")) n1 = atoi(value);
        else if (!strcmp(arg, "--k")) k1 = atoi(value);
        else if (!strcmp(arg, "--iters")) iters = atoi(value);
        else if (!strcmp(arg, "--warmup")) warmup = atoi(value);
        else if (!strcmp(arg, "--device")) deviceIndex = atoi(value);
        else if (!strcmp(arg, "--peak-gflops")) peak = atof(value);
        else { fprintf(stderr, "unknown option %s\n", arg); return 64; }
        ++i;
    }
    if (iters < 1 || ((m1 || n1 || k1) && (m1 < 1 || n1 < 1 || k1 < 1))) { fprintf(stderr, "--m/--n/--k/--iters must be positive\n"); return 64; }

    int shapes[64][3], count = 0;
    if (m1) { shapes[0][0] = m1; shapes[0][1] = n1; shapes[0][2] = k1; count = 1; }
    else {
        char *copy = strdup(sizes);
        for (char *t = strtok(copy, ","); t && count < 64; t = strtok(NULL, ",")) {
            const int s = atoi(t);
            if (s < 1) { fprintf(stderr, "--sizes: '%s' is not a positive integer\n", t); return 64; }
            shapes[count][0] = shapes[count][1] = shapes[count][2] = s;
            ++count;
        }
        free(copy);
    }

    cl_platform_id platforms[16];
    cl_uint platformCount = 0;
    if (clGetPlatformIDs(16, platforms, &platformCount) != CL_SUCCESS || platformCount == 0) {
        fprintf(stderr, "no OpenCL platform\n");
        return 69;
    }
    cl_device_id device = NULL;
    cl_platform_id platform = NULL;
    int seen = 0;
    for (cl_uint p = 0; p < platformCount && !device; ++p) {
        cl_device_id devices[32];
        cl_uint n = 0;
        if (clGetDeviceIDs(platforms[p], CL_DEVICE_TYPE_ALL, 32, devices, &n) != CL_SUCCESS) continue;
        for (cl_uint d = 0; d < n; ++d, ++seen)
            if (seen == deviceIndex) { device = devices[d]; platform = platforms[p]; break; }
    }
    if (!device) { fprintf(stderr, "no device %d\n", deviceIndex); return 69; }
    char deviceName[256] = "", platformName[256] = "", driver[256] = "";
    cl_device_type type = 0;
    clGetDeviceInfo(device, CL_DEVICE_NAME, sizeof deviceName, deviceName, NULL);
    clGetDeviceInfo(device, CL_DRIVER_VERSION, sizeof driver, driver, NULL);
    clGetDeviceInfo(device, CL_DEVICE_TYPE, sizeof type, &type, NULL);
    clGetPlatformInfo(platform, CL_PLATFORM_NAME, sizeof platformName, platformName, NULL);
    cl_int err;
    cl_context context = clCreateContext(NULL, 1, &device, NULL, NULL, &err);
    CHECK(err);
    cl_command_queue queue = clCreateCommandQueue(context, device, CL_QUEUE_PROFILING_ENABLE, &err);
    CHECK(err);

    printf("{\n  \"benchmark\": \"matmul\",\n  \"device\": {\"name\": ");
    json_string(deviceName);
    printf(", \"platform\": ");
    json_string(platformName);
    printf(", \"driver\": ");
    json_string(driver);
    printf(", \"type\": \"%s\", \"peak_gflops\": %.6g, \"peak_gbps\": 0},\n", type & CL_DEVICE_TYPE_GPU ? "GPU" : "CPU", peak);
    printf("  \"params\": {\"transpose_a\": \"%s\", \"transpose_b\": \"%s\"},\n  \"results\": [\n",
           tA ? "true" : "false", tB ? "true" : "false");

    int failures = 0;
    for (int s = 0; s < count; ++s) {
        const int M = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
        const size_t aCount = (size_t)M * K, bCount = (size_t)K * N, cCount = (size_t)M * N;
        float *a = malloc(aCount * 4), *b = malloc(bCount * 4), *c = malloc(cCount * 4);
        for (size_t i = 0; i < aCount; ++i) a[i] = uniform();
        for (size_t i = 0; i < bCount; ++i) b[i] = uniform();
        cl_mem da = clCreateBuffer(context, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, aCount * 4, a, &err); CHECK(err);
        cl_mem db = clCreateBuffer(context, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, bCount * 4, b, &err); CHECK(err);
        cl_mem dc = clCreateBuffer(context, CL_MEM_READ_WRITE, cCount * 4, NULL, &err); CHECK(err);
        /* Row-major: lda is A's stored row length, ldb B's. */
        const size_t lda = tA ? M : K, ldb = tB ? K : N;
        double *wall = malloc(sizeof(double) * iters), *kernel = malloc(sizeof(double) * iters);
        CLBlastStatusCode status = CL_SUCCESS;
        for (int it = -1 - warmup; it < iters && status == CLBlastSuccess; ++it) {
            cl_event event = NULL;
            const double start = now_ms();
            status = CLBlastSgemm(CLBlastLayoutRowMajor, tA ? CLBlastTransposeYes : CLBlastTransposeNo,
                                  tB ? CLBlastTransposeYes : CLBlastTransposeNo, M, N, K, 1.0f, da, 0, lda, db, 0, ldb,
                                  0.0f, dc, 0, N, &queue, &event);
            if (status != CLBlastSuccess) break;
            clFinish(queue);
            const double elapsed = now_ms() - start;
            if (it >= 0) {
                cl_ulong t0 = 0, t1 = 0;
                clGetEventProfilingInfo(event, CL_PROFILING_COMMAND_START, sizeof t0, &t0, NULL);
                clGetEventProfilingInfo(event, CL_PROFILING_COMMAND_END, sizeof t1, &t1, NULL);
                wall[it] = elapsed;
                kernel[it] = (t1 - t0) / 1e6;
            }
            if (event) clReleaseEvent(event);
        }
        double nmse = INFINITY, worst = INFINITY;
        if (status == CLBlastSuccess) {
            CHECK(clEnqueueReadBuffer(queue, dc, CL_TRUE, 0, cCount * 4, c, 0, NULL, NULL));
            double error = 0, power = 0;
            worst = 0;
            const int step = M > 48 ? M / 48 : 1;
            for (int i = 0; i < M; i += step) {
                for (int j = 0; j < N; ++j) {
                    double sum = 0;
                    for (int p = 0; p < K; ++p)
                        sum += (double)(tA ? a[(size_t)p * M + i] : a[(size_t)i * K + p])
                             * (double)(tB ? b[(size_t)j * K + p] : b[(size_t)p * N + j]);
                    const double d = sum - c[(size_t)i * N + j];
                    error += d * d;
                    power += sum * sum;
                    if (fabs(d) > worst) worst = fabs(d);
                }
            }
            nmse = power > 0 ? error / power : error;
        }
        const int valid = status == CLBlastSuccess && nmse <= 1e-10;
        failures += !valid;
        const double minWall = status == CLBlastSuccess ? (qsort(wall, iters, sizeof(double), compare_doubles), wall[0]) : 0;
        const double maxWall = status == CLBlastSuccess ? wall[iters - 1] : 0;
        const double wallMedian = status == CLBlastSuccess ? median(wall, iters) : 0;
        /* CLBlast may run helper kernels (padding, transposes) before the GEMM and returns only
         * the last kernel's event, so rates use wall time (one clFinish included). */
        const double lastKernelMedian = status == CLBlastSuccess ? median(kernel, iters) : 0;
        const double kernelMedian = wallMedian;
        const double seconds = (kernelMedian > 0 ? kernelMedian : 1) / 1e3;
        const double gflops = status == CLBlastSuccess ? 2.0 * M * N * K / seconds / 1e9 : 0;
        const double gbps = status == CLBlastSuccess ? 4.0 * (aCount + bCount + cCount) / seconds / 1e9 : 0;
        printf("    {\"variant\": \"clblast-sgemm\", \"description\": \"CLBlast %s (status %d)\", \"median_ms\": %.6g, "
               "\"min_ms\": %.6g, \"max_ms\": %.6g, \"kernel_median_ms\": %.6g, \"gflops\": %.6g, \"gbps\": %.6g, "
               "\"percent_of_peak\": %.6g, \"nmse\": %.6g, \"max_abs_error\": %.6g, \"valid\": %s, \"speedup_vs_baseline\": 1, "
               "\"m\": %d, \"n\": %d, \"k\": %d, \"last_kernel_median_ms\": %.6g}%s\n",
               "CLBlastSgemm row-major", (int)status, wallMedian, minWall, maxWall, kernelMedian, gflops, gbps,
               peak > 0 ? 100 * gflops / peak : 0, isfinite(nmse) ? nmse : 1e300, isfinite(worst) ? worst : 1e300,
               valid ? "true" : "false", M, N, K, lastKernelMedian, s + 1 < count ? "," : "");
        fflush(stdout);
        clReleaseMemObject(da); clReleaseMemObject(db); clReleaseMemObject(dc);
        free(a); free(b); free(c); free(wall); free(kernel);
    }
    time_t t = time(NULL);
    char created[32];
    strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
    printf("  ],\n  \"clgraph_version\": \"peer\",\n  \"created_at\": \"%s\"\n}\n", created);
    clReleaseCommandQueue(queue);
    clReleaseContext(context);
    return failures ? 1 : 0;
}
