#!/usr/bin/env bash
# tests/gpu/bundle.sh — run HERE (the Debian build machine) before a GPU
# session: packs what tests/gpu/run.sh needs on a GPU machine that has the
# CUDA toolkit but not this project's Debian libraries (Open MPI, parallel
# HDF5, OpenBLAS, inih, ...): the CUDA build (make CUDA=1 DNNL=0: oneDNN's
# 100 MB library stays home; the GPU computes the products), every shared
# library it and Open MPI's plugins load except glibc's and CUDA's (the GPU
# machine brings those), Open MPI's runtime laid out under a prefix that
# OPAL_PREFIX relocates, and a small byte-level corpus. Output:
# .gpu/bundle.tar.xz (git-excluded), carried by the device call
# (carry: [".gpu"]). Check it without a GPU machine: tests/gpu/bundle.sh
# --check runs the bundle in a chroot holding only glibc, CUDA and it.
set -euo pipefail
cd "$(dirname "$0")/../.."
B=.gpu/root
ARCH=$(gcc -print-multiarch)
rm -rf .gpu && mkdir -p "$B/bin" "$B/lib/$ARCH"
grep -qx '/.gpu/' .git/info/exclude 2>/dev/null || echo '/.gpu/' >>.git/info/exclude
make --no-print-directory -j2 CUDA=1 DNNL=0 cuda-bin >/dev/null
CB=build-nodnnl-cuda
cp "$CB/zeropt" "$CB/tests/gpu/test_cuda_kernels" "$B/bin/"
cp "$(readlink -f /usr/bin/orterun)" "$B/bin/orterun"
ln -sf orterun "$B/bin/mpirun"
# Open MPI's tree, relative to its prefix (/usr here: OPAL_PREFIX moves it)
mkdir -p "$B/lib/$ARCH/openmpi/lib" "$B/share"
cp -a /usr/lib/$ARCH/openmpi/lib/openmpi3 "$B/lib/$ARCH/openmpi/lib/"
cp -a /usr/share/openmpi "$B/share/"
cp -a /usr/lib/$ARCH/pmix2 "$B/lib/$ARCH/" 2>/dev/null || true
rm -rf "$B/lib/$ARCH/pmix2/include"
# libraries: glibc's and CUDA's stay out (the GPU machine's own are used)
skip='^(linux-vdso|ld-linux|libc\.so|libm\.so|libpthread|libdl\.so|librt\.so|libresolv|libutil\.so|libcudart|libcublas|libcublasLt|libnccl|libcuda\.so|libnvidia)'
objs=("$B"/bin/zeropt "$B"/bin/test_cuda_kernels "$B"/bin/orterun $(find "$B/lib" -name '*.so*'))
for o in "${objs[@]}"; do
    ldd "$o" 2>/dev/null | awk '$3 ~ /^\// {print $1, $3}'
done | sort -u | while read -r name path; do
    [[ "$name" =~ $skip ]] && continue
    cp -Ln "$path" "$B/lib/$ARCH/$name" 2>/dev/null || true
done
# the corpus: one byte = one token (vocab 262), no tokenizer needed there
/usr/bin/python3 tests/lib/bytes_corpus.py .gpu/root/corpus.h5 /usr/share/games/fortunes/fortunes \
    /usr/share/games/fortunes/science >/dev/null
git rev-parse HEAD >"$B/REVISION"
tar -C .gpu -cJf .gpu/bundle.tar.xz root
echo "bundle: .gpu/bundle.tar.xz, $(du -h .gpu/bundle.tar.xz | cut -f1) ($(du -sh "$B" | cut -f1) unpacked) for $(cat "$B/REVISION")"

[ "${1:-}" = --check ] || exit 0
# --check: a root holding glibc, /usr/local/cuda and the bundle only
R=$(mktemp -d /tmp/gpuroot.XXXX)
trap 'umount "$R/proc" "$R/sys" "$R/dev" "$R/usr/local/cuda" 2>/dev/null; rm -rf "$R"' EXIT
mkdir -p "$R/lib/$ARCH" "$R/lib64" "$R/bin" "$R/tmp" "$R/proc" "$R/sys" "$R/dev" "$R/usr/local/cuda" \
    "$R/b" "$R/etc"
for l in libc.so.6 libm.so.6 libpthread.so.0 libdl.so.2 librt.so.1 libresolv.so.2 libutil.so.1; do
    cp -L /lib/$ARCH/$l "$R/lib/$ARCH/"
done
cp -L /lib64/ld-linux-x86-64.so.2 "$R/lib64/"
cp -L /bin/sh "$R/bin/sh"
for l in $(ldd /bin/sh | awk '$3 ~ /^\// {print $3}'); do cp -Ln "$l" "$R/lib/$ARCH/" 2>/dev/null || true; done
echo "root:x:0:0:root:/root:/bin/sh" >"$R/etc/passwd"
tar -C "$R/b" -xJf .gpu/bundle.tar.xz
mount -t proc proc "$R/proc"
mount --bind /sys "$R/sys"
cat >"$R/tmp/tiny.ini" <<EOC
[model]
vocab_size = 262
layers = 1
width = 32
heads = 2
ffn = 64
max_positions = 32
[data]
path = /b/root/corpus.h5
seq_len = 32
val_batches = 1
[train]
micro_batch = 2
steps = 3
[run]
peak_tflops = 1
EOC
mount --bind /dev "$R/dev"
mount --bind /usr/local/cuda "$R/usr/local/cuda"
env -i PATH=/b/root/bin:/bin HOME=/tmp OMPI_MCA_plm_rsh_agent=sh OPAL_PREFIX=/b/root PMIX_INSTALL_PREFIX=/b/root/lib/$ARCH/pmix2 \
    LD_LIBRARY_PATH=/b/root/lib/$ARCH:/usr/local/cuda/lib64 OMPI_ALLOW_RUN_AS_ROOT=1 \
    OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1 OMP_NUM_THREADS=1 \
    /usr/sbin/chroot "$R" /bin/sh -c '
    cd /tmp &&
    zeropt train --help >/dev/null && echo "check: zeropt runs" &&
    zeropt train -c /tmp/tiny.ini run.dir=/tmp/r1 >/tmp/r1.log 2>&1 &&
    echo "check: 1 rank trains" &&
    mpirun -q -np 2 zeropt train -c /tmp/tiny.ini train.device=loopback run.dir=/tmp/r2 \
        >/tmp/r2.log 2>&1 && echo "check: 2 ranks train under mpirun (device = loopback)" &&
    { test_cuda_kernels; echo "check: the kernel check ran (exit $?: 2 = no GPU here)"; }
    ' || { echo "check: FAILED"; tail -n 5 "$R/tmp/r1.log" "$R/tmp/r2.log" 2>/dev/null; exit 1; }
grep -h "done:" "$R/tmp/r1.log" "$R/tmp/r2.log" | cut -c1-120
