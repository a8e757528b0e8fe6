/// Expectations that Expecto's Expect module lacks and the test projects share.
module FunctionalNets.Testing.Expects

open System

let private describe (e: exn) =
    if isNull e then
        "no exception"
    else
        sprintf "%s: %s" (e.GetType().FullName) e.Message

let private run (f: unit -> unit) =
    try
        f ()
        null
    with e ->
        e

/// Runs f and returns the exception it raises, which must be of type 'T exactly (as xunit's Assert.Throws);
/// fails naming what was raised otherwise.
let throws<'T when 'T :> exn> (what: string) (f: unit -> unit) : 'T =
    match run f with
    | :? 'T as e when e.GetType() = typeof<'T> -> e
    | e -> Expecto.Tests.failtestf "%s: expected %s, got %s" what typeof<'T>.FullName (describe e)

/// Runs f and returns the exception it raises, which must be a 'T or derive from it; fails otherwise.
let throwsAny<'T when 'T :> exn> (what: string) (f: unit -> unit) : 'T =
    match run f with
    | :? 'T as e -> e
    | e -> Expecto.Tests.failtestf "%s: expected %s or a subtype, got %s" what typeof<'T>.FullName (describe e)


/// The one element of xs; fails naming how many there were otherwise.
let single (what: string) (xs: seq<'a>) : 'a =
    match List.ofSeq xs with
    | [ x ] -> x
    | other -> Expecto.Tests.failtestf "%s: expected exactly one element, got %d" what other.Length
