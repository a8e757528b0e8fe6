/// File helpers the Nn tests share.
module FunctionalNets.Tests.Nn.TestFiles

open System.IO
open System.IO.Compression

/// Runs f in a fresh temporary folder (its name starting with `prefix`), removed afterwards.
let withTemp (prefix: string) (f: string -> 'a) : 'a =
    let d = Directory.CreateTempSubdirectory prefix

    try
        f d.FullName
    finally
        d.Delete true

/// The bytes gzip-compressed.
let gzip (bytes: byte[]) =
    use ms = new MemoryStream()

    do
        use gz = new GZipStream(ms, CompressionLevel.Fastest)
        gz.Write(bytes, 0, bytes.Length)

    ms.ToArray()
