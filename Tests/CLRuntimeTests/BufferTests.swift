import CLRuntime
import Testing

@Suite struct BufferTests {
    let context = RuntimeTestDevice.context

    @Test(arguments: [1, 7, 13, 257, 1000, 65537])
    func floatRoundTrip(count: Int) throws {
        let values = (0..<count).map { Float($0) * 0.5 - 3 }
        let buffer = try CLBuffer<Float>(context: context, values: values)
        #expect(try buffer.download() == values)
    }

    @Test(arguments: [1, 3, 31, 1023])
    func narrowTypesRoundTrip(count: Int) throws {
        let bytes = (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 37) }
        #expect(try CLBuffer<UInt8>(context: context, values: bytes).download() == bytes)
        let ints = (0..<count).map { Int32($0) - 500 }
        #expect(try CLBuffer<Int32>(context: context, values: ints).download() == ints)
        let halves = (0..<count).map { UInt16(truncatingIfNeeded: $0 &* 101) }
        #expect(try CLBuffer<UInt16>(context: context, values: halves).download() == halves)
    }

    @Test func partialTransfersCopyAndFill() throws {
        let buffer = try CLBuffer<Float>(context: context, values: [Float](repeating: 0, count: 11))
        try buffer.upload([1, 2, 3], offset: 4)
        #expect(try buffer.download(offset: 3, count: 5) == [0, 1, 2, 3, 0])
        try buffer.fill(9, offset: 8, count: 3)
        let other = try CLBuffer<Float>(context: context, count: 11)
        try other.fill(-1)
        try other.copy(from: buffer, sourceOffset: 4, offset: 0, count: 7)
        #expect(try other.download() == [1, 2, 3, 0, 9, 9, 9, -1, -1, -1, -1])
    }

    @Test func outOfRangeTransfersAreErrors() throws {
        let buffer = try CLBuffer<Float>(context: context, count: 5)
        #expect(throws: CLError.self) { try buffer.upload([Float](repeating: 1, count: 6)) }
        #expect(throws: CLError.self) { try buffer.upload([1, 2], offset: 4) }
        #expect(throws: CLError.self) { try buffer.download(offset: 2, count: 4) }
        #expect(throws: CLError.self) { try buffer.fill(1, offset: -1, count: 2) }
        let error = #expect(throws: CLError.self) { try buffer.download(offset: 3, count: 3) }
        #expect(error?.description.contains("outside a buffer of 5") == true)
    }

    @Test func allocationBeyondDeviceLimitIsAnError() throws {
        let tooMany = context.device.info.maxAllocationBytes / 4 + 1024
        let error = #expect(throws: CLError.self) { _ = try CLBuffer<Float>(context: context, count: tooMany) }
        #expect(error?.description.contains("largest allocation") == true)
    }

    @Test func subBufferViewsShareMemory() throws {
        let align = context.device.info.baseAddressAlignmentBytes / 4
        let parent = try CLBuffer<Float>(context: context, values: [Float](repeating: 0, count: align * 2 + 5))
        let view = try parent.view(offset: align, count: 5)
        try view.upload([1, 2, 3, 4, 5])
        let all = try parent.download()
        #expect(Array(all[align..<(align + 5)]) == [1, 2, 3, 4, 5])
        #expect(all[align - 1] == 0 && all[align + 5] == 0)
    }

    @Test func allocatedBytesFollowLiveBuffers() throws {
        // A context of its own: the shared one is allocated from by tests running in parallel.
        let own = try CLContext(device: context.device, programCache: nil)
        #expect(own.allocatedBufferBytes == 0)
        var parent: CLBuffer<Float>? = try CLBuffer<Float>(context: own, count: 1000)
        var bytes: CLBuffer<UInt8>? = try CLBuffer<UInt8>(context: own, count: 13)
        let align = context.device.info.baseAddressAlignmentBytes / 4
        var view: CLBuffer<Float>? = try parent!.view(offset: align, count: 5)
        #expect(own.allocatedBufferBytes == 4000 + 13)
        view = nil
        #expect(own.allocatedBufferBytes == 4000 + 13)
        bytes = nil
        #expect(own.allocatedBufferBytes == 4000)
        parent = nil
        #expect(own.allocatedBufferBytes == 0)
        _ = (parent, bytes, view)
    }
}
