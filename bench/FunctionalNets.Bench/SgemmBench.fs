module FunctionalNets.Bench.SgemmBench

/// Placeholder until the GEMM benchmark lands.
let run () = ()
