namespace FunctionalNets.Plots

open System
open System.IO
open SkiaSharp
open ScottPlot
open FunctionalNets.Nn

/// The file formats a picture can be written in; the path's extension chooses one.
[<RequireQualifiedAccess>]
type ImageFormat =
    | Png
    | Svg

/// Rendering a ScottPlot figure to bytes and writing it to disk atomically.
module Figure =

    /// The format named by the path's extension (.png or .svg), or an ArgumentException naming the caller.
    let formatOf (caller: string) (path: string) : ImageFormat =
        if String.IsNullOrWhiteSpace path then
            invalidArg "path" (sprintf "%s: the path must not be empty." caller)

        match Path.GetExtension(path).ToLowerInvariant() with
        | ".png" -> ImageFormat.Png
        | ".svg" -> ImageFormat.Svg
        | _ -> invalidArg "path" (sprintf "%s: '%s' must end in .png or .svg, which selects the format." caller path)

    /// Draws a figure of width x height pixels into the chosen format. `draw` receives the canvas and the
    /// pixel rectangle to fill; SVG and PNG go through the same drawing code, so they show the same picture.
    let render (format: ImageFormat) (width: int) (height: int) (draw: SKCanvas -> PixelRect -> unit) : byte[] =
        let area = PixelRect(0.0f, float32 width, float32 height, 0.0f)

        match format with
        | ImageFormat.Png ->
            use surface = SKSurface.Create(SKImageInfo(width, height))
            surface.Canvas.Clear SKColors.White
            draw surface.Canvas area
            use image = surface.Snapshot()
            use data = image.Encode(SKEncodedImageFormat.Png, 100)
            data.ToArray()
        | ImageFormat.Svg ->
            use stream = new MemoryStream()

            // The SVG canvas writes its closing tags when disposed, so it must be gone before the bytes are read.
            do
                use canvas =
                    SKSvgCanvas.Create(SKRect(0.0f, 0.0f, float32 width, float32 height), stream)

                canvas.Clear SKColors.White
                draw canvas area

            stream.ToArray()

    /// Renders with `draw` in the format the path names and writes the file atomically.
    let save (caller: string) (path: string) (width: int) (height: int) (draw: SKCanvas -> PixelRect -> unit) =
        let format = formatOf caller path
        render format width height draw |> AtomicFile.writeAllBytes caller path

    /// A multiplot of the given plots in a grid of `columns` columns, drawn into the rectangle.
    let private drawGrid (columns: int) (plots: Plot list) (canvas: SKCanvas) (area: PixelRect) : unit =
        // A Multiplot made without a plot starts with a blank one of its own; start from the first instead.
        let multiplot = Multiplot(List.head plots)
        List.tail plots |> List.iter multiplot.AddPlot
        let columns = max 1 (min columns plots.Length)
        let rows = (plots.Length + columns - 1) / columns
        multiplot.Layout <- MultiplotLayouts.Grid(rows, columns)
        multiplot.Render(canvas, area)

    /// Saves the plots as one picture, `columns` panels of panelWidth x panelHeight a row, and disposes them.
    let saveGrid
        (caller: string)
        (path: string)
        (columns: int)
        (panelWidth: int)
        (panelHeight: int)
        (plots: Plot list)
        =
        try
            let columns = max 1 (min columns plots.Length)
            let rows = (plots.Length + columns - 1) / columns
            save caller path (panelWidth * columns) (panelHeight * rows) (drawGrid columns plots)
        finally
            plots |> List.iter (fun p -> p.Dispose())
