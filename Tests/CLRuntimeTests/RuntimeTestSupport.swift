import CLRuntime
import Foundation

/// One context for the test process: programs built once are shared by every test.
enum RuntimeTestDevice {
    static let context: CLContext = {
        do { return try CLContext(selecting: nil) } catch { fatalError("no OpenCL device for tests: \(error)") }
    }()
}

/// Source shared by the runtime tests (one program build for all of them).
let runtimeTestSource = """
    __kernel void scale_add(__global const float *x, __global float *y, const float a, const int n) {
        const int i = get_global_id(0);
        if (i < n) y[i] = a * x[i] + (float)i;
    }
    __kernel void fill_index(__global int *out, const int n) {
        const int i = get_global_id(0);
        if (i < n) out[i] = i * 3 - 7;
    }
    """

