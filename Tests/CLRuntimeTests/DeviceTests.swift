import BuiltProducts
import CLRuntime
import Foundation
import Testing

@Suite struct DeviceTests {
    @Test func discoveryReportsCapabilities() throws {
        let devices = try OpenCL.devices()
        #expect(!devices.isEmpty)
        for (index, device) in devices.enumerated() {
            let info = device.info
            #expect(info.index == index)
            #expect(!info.name.isEmpty && !info.platformName.isEmpty && !info.driverVersion.isEmpty)
            #expect(info.computeUnits > 0 && info.maxWorkGroupSize > 0 && info.globalMemoryBytes > 0)
            #expect(info.maxAllocationBytes > 0 && info.maxAllocationBytes <= info.globalMemoryBytes)
            #expect((info.preferredVectorWidths["float"] ?? 0) > 0)
            #expect(info.baseAddressAlignmentBytes > 0)
        }
    }

    @Test func discoveryFromManyThreadsAtOnceGivesOneList() async throws {
        let names = try await withThrowingTaskGroup(of: [String].self) { group in
            for _ in 0..<8 { group.addTask { try OpenCL.devices().map(\.info.name) } }
            return try await group.reduce(into: [[String]]()) { $0.append($1) }
        }
        #expect(Set(names.map { $0.joined(separator: "|") }).count == 1)
    }

    @Test func selectionByIndexNameAndType() throws {
        let devices = try OpenCL.devices()
        #expect(try OpenCL.selectDevice("0") === devices[0])
        let last = devices.count - 1
        #expect(try OpenCL.selectDevice(String(last)) === devices[last])
        let fragment = String(devices[0].info.name.prefix(6)).uppercased()
        #expect(try OpenCL.selectDevice(fragment).info.name.uppercased().contains(fragment))
        let type = devices[0].info.type.lowercased()
        #expect(try OpenCL.selectDevice(type).info.type.lowercased() == type)
    }

    /// A part of a platform's name selects that platform's device even where another platform's
    /// device name holds the same word (pocl names its CPU device after the processor, "… Intel(R) Xeon(R) …").
    @Test func platformNamesComeBeforeDeviceNames() throws {
        for device in try OpenCL.devices() {
            let word = String(device.info.platformName.split(separator: " ").first ?? "")
            guard !word.isEmpty, Int(word) == nil else { continue }
            #expect(try OpenCL.selectDevice(word.lowercased()).info.platformName == device.info.platformName, "\(word)")
        }
    }

    @Test func unknownDeviceListsTheAvailableOnes() throws {
        let error = #expect(throws: CLError.self) { _ = try OpenCL.selectDevice("no-such-device-xyz") }
        let text = error?.description ?? ""
        #expect(text.contains("no-such-device-xyz"))
        #expect(text.contains(try OpenCL.devices()[0].info.name))
        #expect(throws: CLError.self) { _ = try OpenCL.selectDevice("99") }
    }

    /// No ICD at all: the ICD loader pointed at an empty vendors folder. Runs `clbench devices`
    /// in a child process (discovery happens once per process, so it cannot be redone here).
    @Test func noPlatformGivesInstallAdviceAndExitCode69() throws {
        let emptyVendors = FileManager.default.temporaryDirectory.appendingPathComponent("clgraph-empty-icd-\(getpid())")
        try FileManager.default.createDirectory(at: emptyVendors, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: emptyVendors) }
        let run = try BuiltProduct.run("clbench", ["devices"], environment: ["OCL_ICD_VENDORS": emptyVendors.path])
        let text = run.errors
        #expect(run.status == 69)
        #expect(text.contains("No OpenCL platform"))
        #expect(text.contains("pocl-opencl-icd"))
    }
}
