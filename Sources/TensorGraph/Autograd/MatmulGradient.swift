/// The gradient rule of matmul: all four transpose combinations, batched, and B shared across batches.

/// With C = op(A)·op(B) and G = dC: d op(A) = G·op(B)ᵀ and d op(B) = op(A)ᵀ·G, each written as one
/// matmul with transpose flags so no operand is transposed in memory. When B (rank 2) is shared by
/// every batch of A, its gradient sums over the batches: the batches are folded into rows and one
/// `[K, B·M]·[B·M, N]` matmul does the sum.
func matmulGradient(a: Tensor, b: Tensor, transposeA tA: Bool, transposeB tB: Bool, g: Tensor,
                    needs: [Bool]) throws -> [Tensor?] {
    let shared = b.shape.rank == 2 && a.shape.rank > 2
    var da: Tensor?
    if needs[0] {
        if !tA {
            da = try g.matmul(b, transposeB: !tB)                                   // G·op(B)ᵀ
        } else if !shared {
            da = try b.matmul(g, transposeA: tB, transposeB: true)                  // op(B)·Gᵀ
        } else {
            da = try g.matmul(b, transposeB: !tB).transposed()                      // (G·op(B)ᵀ)ᵀ: B must stay second
        }
    }
    var db: Tensor?
    if needs[1] {
        var left = a, right = g
        if shared {
            // Fold the batches into rows: A as [B·M, K] (or [B·K, M]), G as [B·M, N].
            let aRows = tA ? try a.transposed() : a
            left = try aRows.reshape([-1, aRows.shape[-1]])
            right = try g.reshape([-1, g.shape[-1]])
            db = tB ? try right.matmul(left, transposeA: true)                       // Gᵀ·A  [N, K]
                    : try left.matmul(right, transposeA: true)                       // Aᵀ·G  [K, N]
        } else if !tB {
            db = try left.matmul(right, transposeA: !tA)                            // op(A)ᵀ·G
        } else {
            db = try right.matmul(left, transposeA: true, transposeB: tA)           // Gᵀ·op(A)
        }
    }
    return [da, db]
}
