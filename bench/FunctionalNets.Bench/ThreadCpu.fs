module FunctionalNets.Bench.ThreadCpu

open System
open System.IO

/// CPU seconds per thread of this process, read from /proc/self/task/*/stat (Linux; empty elsewhere), keyed by
/// thread id with the thread's name. Two snapshots subtracted show which threads did a stretch's work: whether
/// the kernels' helpers ran beside the training thread, or one thread did it all.
let snapshot () : Map<int, string * float> =
    let dir = "/proc/self/task"

    if not (Directory.Exists dir) then
        Map.empty
    else
        // utime and stime are fields 14 and 15 in clock ticks (USER_HZ, 100 on Linux); the name, field 2, may
        // hold spaces, so fields are counted after its closing parenthesis.
        let ticksPerSecond = 100.0

        Directory.GetDirectories dir
        |> Array.choose (fun d ->
            try
                let text = File.ReadAllText(Path.Combine(d, "stat"))
                let close = text.LastIndexOf ')'
                let name = text.Substring(text.IndexOf '(' + 1, close - text.IndexOf '(' - 1)
                let fields = text.Substring(close + 2).Split ' '
                let ticks = float (int64 fields[11]) + float (int64 fields[12])
                Some(int (Path.GetFileName d), (name, ticks / ticksPerSecond))
            with
            | :? IOException
            | :? FormatException
            | :? UnauthorizedAccessException -> None)
        |> Map.ofArray

/// The threads that used at least 0.05 CPU seconds between two snapshots, busiest first, as a JSON array of
/// {"thread":name,"cpu_seconds":s}.
let json (before: Map<int, string * float>) (after: Map<int, string * float>) =
    after
    |> Map.toList
    |> List.map (fun (tid, (name, s)) ->
        let s0 =
            match before.TryFind tid with
            | Some(_, s0) -> s0
            | None -> 0.0

        name, s - s0)
    |> List.filter (fun (_, s) -> s >= 0.05)
    |> List.sortByDescending snd
    |> List.map (fun (name, s) -> sprintf "{\"thread\":\"%s\",\"cpu_seconds\":%.2f}" (name.Replace("\"", "")) s)
    |> String.concat ","
    |> sprintf "[%s]"
