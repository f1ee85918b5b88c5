// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "CLGraph",
    platforms: [.macOS(.v13)],
    products: [
        .library(name: "TensorGraph", targets: ["TensorGraph"]),
        .library(name: "CLRuntime", targets: ["CLRuntime"]),
        .library(name: "CLBackend", targets: ["CLBackend"]),
        .library(name: "Models", targets: ["Models"]),
        .library(name: "DurableFiles", targets: ["DurableFiles"]),
        .executable(name: "clbench", targets: ["clbench"]),
        .executable(name: "clmodel", targets: ["clmodel"]),
        .library(name: "Playground", targets: ["Playground"]),
    ],
    // MPI: data-parallel training over MPI (`clmodel train gpt --distributed`); needs Open MPI's
    // headers (libopenmpi-dev). Off by default, so the package builds and tests without MPI.
    traits: [.trait(name: "MPI", description: "Data-parallel training over MPI (needs libopenmpi-dev)")],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
    ],
    targets: [
        // The C API, through a shim that pins CL_TARGET_OPENCL_VERSION.
        .systemLibrary(
            name: "COpenCL",
            path: "Sources/COpenCL",
            pkgConfig: "OpenCL",
            providers: [.apt(["ocl-icd-opencl-dev", "opencl-headers"]), .brew(["opencl-headers"])]
        ),
        // Atomic, durable file writes and cross-process locked updates (checkpoints, caches, reports).
        .target(name: "DurableFiles"),
        // The only target that calls the OpenCL C API.
        .target(name: "CLRuntime", dependencies: ["COpenCL", "DurableFiles"]),
        // The .cl kernel families, embedded into the binary as string literals at build time.
        .executableTarget(name: "EmbedKernelsTool", path: "Sources/EmbedKernelsTool"),
        .plugin(name: "EmbedKernels", capability: .buildTool(), dependencies: ["EmbedKernelsTool"]),
        .target(name: "CLKernels", path: "CLKernels", plugins: ["EmbedKernels"]),
        // Backend-agnostic graph, autograd and the reference backend: no OpenCL here.
        .target(name: "TensorGraph"),
        // The op × shape table and the runner that checks any backend against the reference.
        .target(name: "GraphConformance", dependencies: ["TensorGraph"]),
        // Lowers TensorGraph graphs to OpenCL plans.
        .target(name: "CLBackend", dependencies: ["TensorGraph", "CLRuntime", "CLKernels", "DurableFiles"]),
        // Models built only on TensorGraph: tokenizer, data, the MLP and GPT, training, checkpoints.
        // The names splits and Tiny Shakespeare ship as resources (Sources/Models/Data/README.md says where they come from).
        .target(name: "Models", dependencies: ["TensorGraph", "DurableFiles"], resources: [.copy("Data")]),
        // Open MPI's C API, compiled only into builds with the MPI trait.
        .systemLibrary(
            name: "CMPI",
            path: "Sources/CMPI",
            pkgConfig: "ompi",
            providers: [.apt(["libopenmpi-dev", "openmpi-bin"])]
        ),
        // The ranks of a data-parallel run and their gradient all-reduce (MPI with the trait, else unavailable).
        .target(name: "DistributedTraining", dependencies: ["Models", .target(name: "CMPI", condition: .when(traits: ["MPI"]))]),
        // `clmodel serve`: the browser playground's HTTP server, JSON API and embedded page (Web/*.html, .js, .css).
        .plugin(name: "EmbedWebAssets", capability: .buildTool(), dependencies: ["EmbedKernelsTool"]),
        .target(
            name: "Playground",
            dependencies: [
                "Models", "TensorGraph", "CLBackend", "DurableFiles",
                .product(name: "Hummingbird", package: "hummingbird"),
            ],
            plugins: ["EmbedWebAssets"]
        ),
        .executableTarget(
            name: "clmodel",
            dependencies: [
                "Models", "TensorGraph", "CLBackend", "CLRuntime", "DurableFiles", "DistributedTraining", "Playground",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // The benchmark harness and the device probes behind `clbench` (a library, so tests can drive it).
        .target(name: "CLBenchKit", dependencies: ["CLRuntime", "CLKernels", "CLBackend", "TensorGraph", "DurableFiles"]),
        .executableTarget(
            name: "clbench",
            dependencies: [
                "CLBenchKit", "CLRuntime", "CLKernels", "CLBackend", "TensorGraph", "GraphConformance", "DurableFiles",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Test support: runs the built executables for the end-to-end command-line tests.
        .target(name: "BuiltProducts", path: "Tests/BuiltProducts"),
        .testTarget(name: "CLRuntimeTests", dependencies: ["CLRuntime", "CLKernels", "CLBenchKit", "BuiltProducts"]),
        .testTarget(name: "ModelsTests", dependencies: ["Models", "TensorGraph", "CLBackend", "BuiltProducts"]),
        .testTarget(name: "CLBenchTests", dependencies: ["CLBenchKit", "CLRuntime", "BuiltProducts"]),
        .testTarget(name: "TensorGraphTests", dependencies: ["TensorGraph", "GraphConformance"]),
        .testTarget(name: "DurableFilesTests", dependencies: ["DurableFiles"]),
        .testTarget(name: "CLBackendTests", dependencies: ["CLBackend", "TensorGraph", "CLRuntime", "GraphConformance"]),
        .testTarget(name: "PlaygroundTests", dependencies: ["Playground", "Models", "TensorGraph", "CLBackend"]),
    ],
    swiftLanguageModes: [.v5]
)
