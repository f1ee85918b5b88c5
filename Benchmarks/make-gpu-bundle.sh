#!/usr/bin/env bash
# Builds `clbench` and `clmodel` with the Swift standard library linked statically and packs them
# with the OpenCL ICD loader into one folder (and a tarball beside it), so they run on a machine
# with an OpenCL driver (an NVIDIA, AMD or Intel GPU) and no Swift toolchain.
#
#   bash Benchmarks/make-gpu-bundle.sh [OUT_DIR]        (default: .build-bundle/clgraph-bundle)
#
# The bundle:
#   bin/clbench, bin/clmodel        rpath $ORIGIN/../lib: they find the loader beside them
#   bin/CLGraph_Models.resources    the bundled data sets (found next to the executables)
#   lib/libOpenCL.so.1              the ICD loader (ocl-icd), which reads OCL_ICD_VENDORS or /etc/OpenCL/vendors
#   run-device-checks.sh            devices, conformance and the benchmarks, into a results folder
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-.build-bundle/clgraph-bundle}
scratch=.build-bundle/build
loader=$(ldconfig -p | awk '/libOpenCL\.so\.1 .*x86-64/ { print $NF; exit }')
if [ -z "$loader" ]; then
  echo "no libOpenCL.so.1 found: install the ICD loader (apt-get install ocl-icd-libopencl1)" >&2
  exit 1
fi
swift build -c release --scratch-path "$scratch" --static-swift-stdlib \
  -Xlinker -rpath -Xlinker '$ORIGIN/../lib' --product clbench
swift build -c release --scratch-path "$scratch" --static-swift-stdlib \
  -Xlinker -rpath -Xlinker '$ORIGIN/../lib' --product clmodel
bin=$(swift build -c release --scratch-path "$scratch" --show-bin-path)
rm -rf "$out"
mkdir -p "$out/bin" "$out/lib"
cp "$bin/clbench" "$bin/clmodel" "$out/bin/"
for resources in "$bin"/*.resources; do
  [ -e "$resources" ] && cp -R "$resources" "$out/bin/"
done
cp -L "$loader" "$out/lib/libOpenCL.so.1"
cp Benchmarks/run-device-checks.sh "$out/"
tar -C "$(dirname "$out")" -czf "$out.tar.gz" "$(basename "$out")"
echo "bundle: $out ($(du -sh "$out" | cut -f1)); tarball: $out.tar.gz"
