namespace FunctionalNets.Nn

open System
open System.IO

/// Writing a whole file so that a reader never sees it half-written.
module AtomicFile =

    /// Writes the bytes through a temporary file in the same folder, then renames it over `path`: an
    /// existing file stays as it was if anything fails. A missing folder is named in the exception, with
    /// `caller` (the operation the user called).
    let writeAllBytes (caller: string) (path: string) (bytes: byte[]) : unit =
        let full = Path.GetFullPath path

        let folder =
            match Path.GetDirectoryName full with
            | null -> invalidArg "path" (sprintf "%s: '%s' names no file." caller path)
            | f -> f

        if not (Directory.Exists folder) then
            raise (
                DirectoryNotFoundException(
                    sprintf "%s: the folder '%s' does not exist; create it before saving '%s'." caller folder path
                )
            )

        let temp =
            Path.Combine(folder, sprintf ".%s.%s.tmp" (Path.GetFileName full) (Guid.NewGuid().ToString "N"))

        try
            File.WriteAllBytes(temp, bytes)
            File.Move(temp, full, true)
        finally
            if File.Exists temp then
                File.Delete temp
