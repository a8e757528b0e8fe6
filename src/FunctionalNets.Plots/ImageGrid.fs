namespace FunctionalNets.Plots

open System
open ScottPlot
open FunctionalNets
open FunctionalNets.Nn

/// A small image: Height x Width pixels, row-major, each an (r, g, b) triple in [0, 1].
type Tile =
    {
        Height: int
        Width: int
        Pixels: (float * float * float)[]
    }

/// Grids of small images: first-layer convolution filters, or samples such as generated digits.
module ImageGrid =

    let private isFinite (x: float) =
        not (Double.IsNaN x || Double.IsInfinity x)

    let private shapeText (shape: int[]) =
        "[" + (shape |> Array.map string |> String.concat ", ") + "]"

    /// (count, channels, height, width) of a [N, C, H, W] or [N, H, W] tensor.
    let private dims (caller: string) (what: string) (t: Tensor) =
        let shape = t.Shape.ToArray()

        let n, c, h, w =
            match shape with
            | [| n; c; h; w |] -> n, c, h, w
            | [| n; h; w |] -> n, 1, h, w
            | _ ->
                invalidArg
                    what
                    (sprintf "%s: expected %s of shape [N, C, H, W] or [N, H, W], got %s." caller what (shapeText shape))

        if n = 0 || c = 0 || h = 0 || w = 0 then
            invalidArg
                what
                (sprintf
                    "%s: %s of shape %s has an empty dimension; there is nothing to draw."
                    caller
                    what
                    (shapeText shape))

        n, c, h, w

    /// Pixel (r, g, b) of image `i` at position `p`: colour for 3 channels, else the mean over channels as grey.
    let private pixelsOf (data: float[]) (c: int) (px: int) (i: int) =
        Array.init px (fun p ->
            let at ch = data[(i * c + ch) * px + p]

            if c = 3 then
                at 0, at 1, at 2
            else
                let m = Seq.averageBy at (seq { 0 .. c - 1 })
                m, m, m)

    /// Filters of a convolution weight [O, C, kH, kW] as tiles, each stretched to [0, 1] over its own
    /// values (all channels together, so a colour filter keeps its hue): filters differ in scale and a
    /// common scale would leave most of them flat. A constant filter, and any non-finite value, is mid grey.
    let filterTiles (weights: Tensor) : Tile[] =
        let o, c, h, w = dims "ImageGrid.filterTiles" "weights" weights
        let data = Tensor.toFloatArray weights

        Array.init o (fun f ->
            let raw = pixelsOf data c (h * w) f

            let finite =
                raw |> Array.collect (fun (r, g, b) -> [| r; g; b |]) |> Array.filter isFinite

            let lo = if finite.Length = 0 then 0.0 else Array.min finite
            let hi = if finite.Length = 0 then 0.0 else Array.max finite

            let stretch v =
                if not (isFinite v) || hi <= lo then
                    0.5
                else
                    (v - lo) / (hi - lo)

            {
                Height = h
                Width = w
                Pixels = raw |> Array.map (fun (r, g, b) -> stretch r, stretch g, stretch b)
            })

    /// Images [N, C, H, W] or [N, H, W] as tiles with one common scale: `low` maps to black and `high`
    /// to white, values outside are clamped (non-finite values show as mid grey).
    let sampleTiles (low: float) (high: float) (images: Tensor) : Tile[] =
        if not (high > low) then
            invalidArg
                "high"
                (sprintf "ImageGrid.sampleTiles: the range needs low < high, got low = %g, high = %g." low high)

        let n, c, h, w = dims "ImageGrid.sampleTiles" "images" images
        let data = Tensor.toFloatArray images

        let scale v =
            if isFinite v then
                Math.Clamp((v - low) / (high - low), 0.0, 1.0)
            else
                0.5

        Array.init n (fun i ->
            {
                Height = h
                Width = w
                Pixels =
                    pixelsOf data c (h * w) i
                    |> Array.map (fun (r, g, b) -> scale r, scale g, scale b)
            })

    /// (columns, rows) of a near-square grid of n tiles, filled left to right, top to bottom.
    let gridShape (n: int) : int * int =
        let columns = max 1 (int (ceil (sqrt (float n))))
        columns, (n + columns - 1) / columns

    /// The grid as an RGB byte array [height, width, 3]: each tile pixel becomes a `zoom` x `zoom` block,
    /// tiles are separated by a `zoom`-pixel white gap.
    let compose (zoom: int) (tiles: Tile[]) : byte[,,] =
        if tiles.Length = 0 then
            invalidArg "tiles" "ImageGrid.compose: no tiles; there is nothing to draw."

        let h, w = tiles[0].Height, tiles[0].Width

        if tiles |> Array.exists (fun t -> t.Height <> h || t.Width <> w) then
            invalidArg "tiles" "ImageGrid.compose: all tiles must have the same size."

        let columns, rows = gridShape tiles.Length
        let cellW, cellH = (w + 1) * zoom, (h + 1) * zoom
        let image = Array3D.create (rows * cellH + zoom) (columns * cellW + zoom) 3 255uy
        let toByte (v: float) = byte (Math.Round(255.0 * v))

        tiles
        |> Array.iteri (fun i tile ->
            let top, left = (i / columns) * cellH + zoom, (i % columns) * cellW + zoom

            for y in 0 .. h * zoom - 1 do
                for x in 0 .. w * zoom - 1 do
                    let r, g, b = tile.Pixels[(y / zoom) * w + x / zoom]
                    image[top + y, left + x, 0] <- toByte r
                    image[top + y, left + x, 1] <- toByte g
                    image[top + y, left + x, 2] <- toByte b)

        image

    let private saveTiles (caller: string) (title: string) (path: string) (tiles: Tile[]) =
        let format = Figure.formatOf caller path
        // Tiles are zoomed to about 48 pixels so that small filters stay visible and sharp.
        let zoom = max 1 (48 / max tiles[0].Height tiles[0].Width)
        let pixels = compose zoom tiles
        let height, width = Array3D.length1 pixels, Array3D.length2 pixels
        use image = new Image(pixels)
        use plot = new Plot()

        plot.Add.ImageRect(image, CoordinateRect(0.0, float width, 0.0, float height))
        |> ignore

        plot.Axes.SetLimits(0.0, float width, 0.0, float height)
        plot.HideAxesAndGrid()
        plot.Title title
        // Room for the title above the grid.
        let bytes =
            Figure.render format (width + 40) (height + 80) (fun canvas area -> plot.Render(canvas, area))

        AtomicFile.writeAllBytes caller path bytes

    /// Writes the filters of a convolution weight [O, C, kH, kW] as a grid (.png or .svg by extension).
    let saveFilters (path: string) (weights: Tensor) : unit =
        let tiles = filterTiles weights
        let shape = weights.Shape.ToArray()
        saveTiles "ImageGrid.saveFilters" (sprintf "%d filters %s" tiles.Length (shapeText shape)) path tiles

    /// Writes images [N, C, H, W] or [N, H, W] (values from `low` = black to `high` = white) as a grid.
    let saveSamples (path: string) (low: float) (high: float) (title: string) (images: Tensor) : unit =
        sampleTiles low high images |> saveTiles "ImageGrid.saveSamples" title path
