namespace FunctionalNets.Nn

open System
open System.Globalization
open System.IO
open System.Text

/// A tiny SVG document builder: an element tree rendered to text. Just enough for the charts in
/// Charts.fs; values are escaped at render time, so callers pass plain strings.
module Svg =

    /// An SVG node: an element with attributes (in order) and children, or character data.
    type Node =
        | Element of name: string * attrs: (string * string) list * children: Node list
        | Text of string

    /// Escapes text for XML content and attribute values. Characters XML 1.0 forbids (most C0 control
    /// characters, lone surrogates) are dropped rather than escaped: they have no legal spelling at all,
    /// and a class name read from a file must not make the whole picture unparseable.
    let escape (s: string) : string =
        let sb = StringBuilder(s.Length + 8)

        for i in 0 .. s.Length - 1 do
            let c = s[i]

            match c with
            | '&' -> sb.Append "&amp;" |> ignore
            | '<' -> sb.Append "&lt;" |> ignore
            | '>' -> sb.Append "&gt;" |> ignore
            | '"' -> sb.Append "&quot;" |> ignore
            | '\'' -> sb.Append "&apos;" |> ignore
            | '\t'
            | '\n'
            | '\r' -> sb.Append c |> ignore
            | c when c < ' ' || c = '\uFFFE' || c = '\uFFFF' -> ()
            | c when Char.IsHighSurrogate c ->
                if i + 1 < s.Length && Char.IsLowSurrogate s[i + 1] then
                    sb.Append c |> ignore
            | c when Char.IsLowSurrogate c ->
                if i > 0 && Char.IsHighSurrogate s[i - 1] then
                    sb.Append c |> ignore
            | c -> sb.Append c |> ignore

        sb.ToString()

    /// Formats a coordinate or value: InvariantCulture (a German locale must not write "1,5"), at most
    /// three decimals (sub-pixel precision is invisible and bloats the file), never an exponent, and
    /// no "-0". Non-finite numbers are a bug in the caller, so they raise instead of writing "NaN".
    let num (x: float) : string =
        if Double.IsNaN x || Double.IsInfinity x then
            invalidArg "x" (sprintf "Svg.num: %f is not a finite coordinate." x)

        let s = x.ToString("0.###", CultureInfo.InvariantCulture)
        if s = "-0" then "0" else s

    let el (name: string) (attrs: (string * string) list) (children: Node list) = Element(name, attrs, children)

    let text (s: string) = Text s

    let rect (x: float) (y: float) (w: float) (h: float) (attrs: (string * string) list) =
        el "rect" ([ "x", num x; "y", num y; "width", num w; "height", num h ] @ attrs) []

    let line (x1: float) (y1: float) (x2: float) (y2: float) (attrs: (string * string) list) =
        el "line" ([ "x1", num x1; "y1", num y1; "x2", num x2; "y2", num y2 ] @ attrs) []

    let circle (cx: float) (cy: float) (r: float) (attrs: (string * string) list) =
        el "circle" ([ "cx", num cx; "cy", num cy; "r", num r ] @ attrs) []

    let polyline (points: (float * float) list) (attrs: (string * string) list) =
        let pts =
            points |> List.map (fun (x, y) -> num x + "," + num y) |> String.concat " "

        el "polyline" ([ "points", pts; "fill", "none" ] @ attrs) []

    /// A text label at (x, y); anchor is "start", "middle" or "end".
    let label (x: float) (y: float) (anchor: string) (s: string) (attrs: (string * string) list) =
        el "text" ([ "x", num x; "y", num y; "text-anchor", anchor ] @ attrs) [ Text s ]

    let group (attrs: (string * string) list) (children: Node list) = el "g" attrs children

    /// A hover tooltip: browsers show a <title> child of an element when the pointer rests on it.
    let title (s: string) = el "title" [] [ Text s ]

    /// An "#rrggbb" colour from components in [0, 1] (clamped).
    let rgb (r: float) (g: float) (b: float) =
        let c (v: float) =
            int (Math.Round(255.0 * Math.Clamp((if Double.IsNaN v then 0.0 else v), 0.0, 1.0)))

        sprintf "#%02x%02x%02x" (c r) (c g) (c b)

    let rec private write (sb: StringBuilder) (node: Node) =
        match node with
        | Text s -> sb.Append(escape s) |> ignore
        | Element(name, attrs, children) ->
            sb.Append('<').Append(name) |> ignore

            for k, v in attrs do
                sb.Append(' ').Append(k).Append("=\"").Append(escape v).Append('"') |> ignore

            match children with
            | [] -> sb.Append("/>") |> ignore
            | _ ->
                sb.Append('>') |> ignore
                // Newlines only between elements, never inside text, so labels keep their exact content.
                let elementsOnly =
                    children
                    |> List.forall (function
                        | Element _ -> true
                        | Text _ -> false)

                for c in children do
                    if elementsOnly then
                        sb.Append('\n') |> ignore

                    write sb c

                if elementsOnly then
                    sb.Append('\n') |> ignore

                sb.Append("</").Append(name).Append('>') |> ignore

    /// Renders a node (and its subtree) as XML text.
    let render (node: Node) : string =
        let sb = StringBuilder()
        write sb node
        sb.ToString()

    /// A complete standalone SVG document of the given pixel size: the declaration, the namespace, a
    /// viewBox (so it scales when embedded) and a white background (transparent pictures are unreadable
    /// in dark-mode viewers).
    let document (width: float) (height: float) (children: Node list) : string =
        let root =
            el
                "svg"
                [
                    "xmlns", "http://www.w3.org/2000/svg"
                    "width", num width
                    "height", num height
                    "viewBox", sprintf "0 0 %s %s" (num width) (num height)
                    "font-family", "DejaVu Sans, Helvetica, Arial, sans-serif"
                ]
                (rect 0.0 0.0 width height [ "fill", "#ffffff" ] :: children)

        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" + render root + "\n"

/// Writing picture files.
module PlotFiles =

    /// Writes bytes to path atomically: they go to a hidden temp file in the same folder (so the rename
    /// stays on one file system), are flushed to disk, then renamed over path. A crash or a viewer that
    /// polls the file sees the old picture or the new one, never half of one. The folder is created if
    /// missing; on failure the temp file is removed and an existing file at path is untouched.
    let writeAtomic (path: string) (bytes: byte[]) : unit =
        let full = Path.GetFullPath path
        let dir = string (Path.GetDirectoryName full)
        Directory.CreateDirectory dir |> ignore

        let tmp =
            Path.Combine(dir, sprintf ".%s.%s.tmp" (string (Path.GetFileName full)) (Guid.NewGuid().ToString "N"))

        try
            do
                use fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None)
                fs.Write(bytes, 0, bytes.Length)
                fs.Flush true

            File.Move(tmp, full, true)
        with _ ->
            (try
                if File.Exists tmp then
                    File.Delete tmp
             with _ ->
                 ())

            reraise ()

    /// Writes text as UTF-8 (no byte-order mark: some SVG tools reject one) atomically.
    let writeTextAtomic (path: string) (text: string) : unit =
        writeAtomic path (UTF8Encoding(false).GetBytes text)
