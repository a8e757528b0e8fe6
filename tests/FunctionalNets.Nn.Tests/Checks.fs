/// Expectations the Nn tests share that Expecto's Expect module lacks.
module FunctionalNets.Tests.Nn.Checks

open Expecto

/// Fails unless lo <= v <= hi (both ends included, as xunit's Assert.InRange), naming what and the three values.
let inRange (what: string) (lo: 'a) (hi: 'a) (v: 'a) =
    if v < lo || v > hi then
        failtestf "%s = %A, expected in [%A, %A]" what v lo hi
