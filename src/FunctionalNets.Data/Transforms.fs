namespace FunctionalNets.Nn

open FunctionalNets
open System

/// Batch transforms for image data laid out [n; c; h; w]: normalisation and key-driven augmentation
/// (random crop with padding, random horizontal flip).
///
/// Design. A random transform is a plain function of a Key and a tensor (Key -> Tensor -> Tensor): it
/// draws everything it needs from that key (image b of the batch uses words 2b and 2b+1 of the key's
/// Threefry stream for a crop, word b for a flip), so the same key and the same batch give the same result
/// on every machine, thread and device. `compose` chains transforms and gives each its own key (Key.splitN),
/// so two transforms never reuse the same random words. `mapWithKey` attaches a pipeline to a dataset: its
/// GetBatch derives a per-batch key from the base key and the batch's example indices (all of them, in
/// order; see batchKey) and applies the pipeline to the batch's inputs. Nothing is mutable, so batches
/// built ahead on the DataLoader's worker thread are reproducible: a run with the same base key and the
/// same shuffling key sees exactly the same augmented images. With shuffling, each epoch's batches hold
/// other examples, so each epoch sees other crops and flips; without shuffling every epoch repeats the
/// same ones; fold the epoch into the base key (Key.foldIn epoch key) in a hand-written loop to vary them.
/// The ops are tensor ops (pad, gather, arithmetic), so the transforms run where the batch lives.
[<RequireQualifiedAccess>]
module Transforms =
    /// Per-channel mean of the CIFAR-10 training pixels scaled to [0, 1] (R, G, B).
    let cifar10Mean = [| 0.4914; 0.4822; 0.4465 |]

    /// Per-channel standard deviation of the CIFAR-10 training pixels scaled to [0, 1] (R, G, B).
    let cifar10Std = [| 0.2470; 0.2435; 0.2616 |]

    let private checkImages (what: string) (x: Tensor) =
        if x.Rank <> 4 then
            invalidArg
                "x"
                (sprintf "Transforms.%s: expected images shaped [n; c; h; w], got a tensor of shape %O." what x.Shape)

    /// A uniform integer in [0, bound) from one 32-bit word (multiply-shift; the bias is at most
    /// bound / 2^32, far below anything an augmentation can notice).
    let inline private below (w: uint32) (bound: int) = int ((uint64 w * uint64 bound) >>> 32)

    /// (x - mean[c]) / std[c] for each channel c. The channel dim is the third from the end, so both
    /// [n; c; h; w] batches and single [c; h; w] images work; the result keeps x's floating dtype.
    let normalize (mean: float[]) (std: float[]) (x: Tensor) : Tensor =
        if mean.Length <> std.Length then
            invalidArg
                "std"
                (sprintf
                    "Transforms.normalize: %d means but %d standard deviations; give one of each per channel."
                    mean.Length
                    std.Length)

        match std |> Array.tryFind (fun s -> not (s > 0.0)) with
        | Some s -> invalidArg "std" (sprintf "Transforms.normalize: standard deviations must be > 0, got %g." s)
        | None -> ()

        if x.Rank < 3 then
            invalidArg "x" (sprintf "Transforms.normalize: expected [n; c; h; w] or [c; h; w], got shape %O." x.Shape)

        let cdim = x.Rank - 3
        let c = x.Shape[cdim]

        if c <> mean.Length then
            invalidArg
                "mean"
                (sprintf
                    "Transforms.normalize: the input has %d channels (shape %O) but %d means and standard deviations were given."
                    c
                    x.Shape
                    mean.Length)

        let shape = Array.init x.Rank (fun d -> if d = cdim then c else 1)

        let constant (v: float[]) =
            match x.DType with
            | DType.Float32 -> Tensor.ofArray (Array.map float32 v, shape, x.Device)
            | DType.Float64 -> Tensor.ofArray (Array.copy v, shape, x.Device)
            | d ->
                invalidArg
                    "x"
                    (sprintf "Transforms.normalize: expected a floating-point input, got %O; cast it first." d)

        (x - constant mean) / constant std

    /// CIFAR-10 normalisation: normalize cifar10Mean cifar10Std.
    let normalizeCifar10 (x: Tensor) : Tensor = normalize cifar10Mean cifar10Std x

    /// The (top, left) offsets a random crop draws for n images when the window can start at rows
    /// 0 .. maxTop and columns 0 .. maxLeft: image b uses words 2b (top) and 2b+1 (left) of the key.
    let cropOffsets (key: Key) (n: int) (maxTop: int) (maxLeft: int) : (int * int)[] =
        Array.init n (fun b ->
            let top = below (Key.word key (2L * int64 b)) (maxTop + 1)
            let left = below (Key.word key (2L * int64 b + 1L)) (maxLeft + 1)
            top, left)

    /// Zero-pads the last two dims of x [n; c; h; w] by `padding` on every side, then cuts the
    /// size x size window of image b at offsets[b] = (top, left) in the padded image.
    let cropAt (offsets: (int * int)[]) (padding: int) (size: int) (x: Tensor) : Tensor =
        checkImages "cropAt" x
        let dims = x.Shape.ToArray()
        let n, c = dims[0], dims[1]
        let ph, pw = dims[2] + 2 * padding, dims[3] + 2 * padding

        if padding < 0 then
            invalidArg "padding" (sprintf "Transforms.cropAt: padding must be >= 0, got %d." padding)

        if size < 1 || size > ph || size > pw then
            invalidArg
                "size"
                (sprintf
                    "Transforms.cropAt: a %dx%d window does not fit images of %dx%d padded by %d (%dx%d)."
                    size
                    size
                    dims[2]
                    dims[3]
                    padding
                    ph
                    pw)

        if offsets.Length <> n then
            invalidArg "offsets" (sprintf "Transforms.cropAt: %d offsets for a batch of %d images." offsets.Length n)

        let padded =
            if padding = 0 then
                x
            else
                Tensor.pad (x, [ (padding, padding); (padding, padding) ])

        // One gather over the flattened padded plane: out[b, ch, i, j] = padded[b, ch, top_b + i, left_b + j].
        let area = size * size
        let index = GC.AllocateUninitializedArray<int64>(n * c * area)

        for b in 0 .. n - 1 do
            let top, left = offsets[b]

            if top < 0 || left < 0 || top + size > ph || left + size > pw then
                raise (
                    ArgumentOutOfRangeException(
                        "offsets",
                        sprintf
                            "Transforms.cropAt: offset (%d, %d) of image %d puts the %dx%d window outside the %dx%d padded image."
                            top
                            left
                            b
                            size
                            size
                            ph
                            pw
                    )
                )

            let first = b * c * area

            for i in 0 .. size - 1 do
                let row = int64 ((top + i) * pw + left)

                for j in 0 .. size - 1 do
                    index[first + i * size + j] <- row + int64 j

            for ch in 1 .. c - 1 do
                Array.blit index first index (first + ch * area) area

        let flat = Tensor.reshape (padded, [ n; c; ph * pw ])
        let ix = Tensor.ofArray (index, [ n; c; area ], x.Device)
        Tensor.reshape (Tensor.gather (flat, 2, ix), [ n; c; size; size ])

    /// Random crop as in the usual CIFAR-10 recipe: zero-pad each image by `padding` on every side, then
    /// cut a size x size window at a position drawn from the key independently for each image
    /// (see cropOffsets). randomCrop key 4 32 keeps a [n; 3; 32; 32] batch's shape.
    let randomCrop (key: Key) (padding: int) (size: int) (x: Tensor) : Tensor =
        checkImages "randomCrop" x
        let dims = x.Shape.ToArray()
        let maxTop = dims[2] + 2 * padding - size
        let maxLeft = dims[3] + 2 * padding - size

        if padding < 0 || size < 1 || maxTop < 0 || maxLeft < 0 then
            invalidArg
                "size"
                (sprintf
                    "Transforms.randomCrop: a %dx%d window with padding %d does not fit images of shape %O."
                    size
                    size
                    padding
                    x.Shape)

        cropAt (cropOffsets key dims[0] maxTop maxLeft) padding size x

    /// Which of n images a random flip with probability p mirrors: image b when word b of the key, as a
    /// uniform float in [0, 1), is below p.
    let flipFlags (key: Key) (n: int) (p: float) : bool[] =
        if not (p >= 0.0 && p <= 1.0) then
            invalidArg "p" (sprintf "Transforms.flipFlags: p must be in [0, 1], got %g." p)

        Array.init n (fun b -> float (Key.uniform32OfWord (Key.word key (int64 b))) < p)

    /// Mirrors the images whose flag is set left to right (reverses their last dim); the others are copied.
    let flipWhere (flags: bool[]) (x: Tensor) : Tensor =
        checkImages "flipWhere" x
        let dims = x.Shape.ToArray()
        let n, c, h, w = dims[0], dims[1], dims[2], dims[3]

        if flags.Length <> n then
            invalidArg "flags" (sprintf "Transforms.flipWhere: %d flags for a batch of %d images." flags.Length n)

        let plane = h * w
        let index = GC.AllocateUninitializedArray<int64>(n * c * plane)

        for b in 0 .. n - 1 do
            let first = b * c * plane

            for j in 0 .. w - 1 do
                index[first + j] <- int64 (if flags[b] then w - 1 - j else j)

            for i in 1 .. h - 1 do
                Array.blit index first index (first + i * w) w

            for ch in 1 .. c - 1 do
                Array.blit index first index (first + ch * plane) plane

        Tensor.gather (x, 3, Tensor.ofArray (index, [ n; c; h; w ], x.Device))

    /// Mirrors every image left to right (reverses the last dim).
    let horizontalFlip (x: Tensor) : Tensor =
        if x.Rank < 1 then
            invalidArg "x" "Transforms.horizontalFlip: expected a tensor of rank >= 1, got a scalar."

        let w = x.Shape[x.Rank - 1]
        let rev = Array.init w (fun j -> int64 (w - 1 - j))
        Tensor.indexSelect (x, x.Rank - 1, Tensor.ofArray (rev, [ w ], x.Device))

    /// Mirrors each image left to right with probability p, independently per image (see flipFlags).
    let randomHorizontalFlip (key: Key) (p: float) (x: Tensor) : Tensor =
        checkImages "randomHorizontalFlip" x
        flipWhere (flipFlags key x.Shape[0] p) x

    /// Mirrors the images whose flag is set top to bottom (reverses their rows); the others are copied.
    let flipRowsWhere (flags: bool[]) (x: Tensor) : Tensor =
        checkImages "flipRowsWhere" x
        let dims = x.Shape.ToArray()
        let n, c, h, w = dims[0], dims[1], dims[2], dims[3]

        if flags.Length <> n then
            invalidArg "flags" (sprintf "Transforms.flipRowsWhere: %d flags for a batch of %d images." flags.Length n)

        let plane = h * w
        let index = GC.AllocateUninitializedArray<int64>(n * c * plane)

        for b in 0 .. n - 1 do
            let first = b * c * plane

            for i in 0 .. h - 1 do
                let src = int64 (if flags[b] then h - 1 - i else i)
                Array.fill index (first + i * w) w src

            for ch in 1 .. c - 1 do
                Array.blit index first index (first + ch * plane) plane

        Tensor.gather (x, 2, Tensor.ofArray (index, [ n; c; h; w ], x.Device))

    /// Mirrors each image top to bottom with probability p, independently per image (see flipFlags).
    let randomVerticalFlip (key: Key) (p: float) (x: Tensor) : Tensor =
        checkImages "randomVerticalFlip" x
        flipRowsWhere (flipFlags key x.Shape[0] p) x

    // Uniform draws for image b: its own key (foldIn b), words taken in order.
    let private drawsFor (key: Key) (b: int) =
        let k = Key.foldIn b key
        let mutable i = 0L

        fun () ->
            let u = float (Key.uniform32OfWord (Key.word k i))
            i <- i + 1L
            u

    /// Image b's rectangle (top, left, height, width) that random erasing draws, or None when it keeps the
    /// image: with probability p, torchvision's RandomErasing rule, an area of scale (lo, hi) of the image and
    /// an aspect ratio log-uniform in ratio, up to 10 tries for a rectangle that fits.
    let erasingBoxes
        (key: Key)
        (n: int)
        (h: int)
        (w: int)
        (p: float)
        (scale: float * float)
        (ratio: float * float)
        : (int * int * int * int) option[] =
        Array.init n (fun b ->
            let u = drawsFor key b

            if u () >= p then
                None
            else
                let area = float (h * w)
                let logLo, logHi = log (fst ratio), log (snd ratio)

                let rec attempt k =
                    if k = 10 then
                        None
                    else
                        let target = area * (fst scale + (snd scale - fst scale) * u ())
                        let aspect = exp (logLo + (logHi - logLo) * u ())
                        let eh = int (Math.Round(sqrt (target * aspect)))
                        let ew = int (Math.Round(sqrt (target / aspect)))
                        let ut, ul = u (), u ()

                        if eh >= 1 && ew >= 1 && eh < h && ew < w then
                            Some(int (ut * float (h - eh + 1)), int (ul * float (w - ew + 1)), eh, ew)
                        else
                            attempt (k + 1)

                attempt 0)

    /// Random erasing (torchvision's RandomErasing, Zhong et al. 2017): each image, with probability p, gets a
    /// rectangle set to value in every channel (see erasingBoxes for the rectangle's draw). Typically after
    /// normalisation, with value 0.
    let randomErasing
        (key: Key)
        (p: float)
        (scale: float * float)
        (ratio: float * float)
        (value: float)
        (x: Tensor)
        : Tensor =
        checkImages "randomErasing" x

        if not (p >= 0.0 && p <= 1.0) then
            invalidArg "p" (sprintf "Transforms.randomErasing: p must be in [0, 1], got %g." p)

        if not (fst scale > 0.0 && fst scale <= snd scale && snd scale <= 1.0) then
            invalidArg "scale" (sprintf "Transforms.randomErasing: scale must satisfy 0 < lo <= hi <= 1, got %A." scale)

        if not (fst ratio > 0.0 && fst ratio <= snd ratio) then
            invalidArg "ratio" (sprintf "Transforms.randomErasing: ratio must satisfy 0 < lo <= hi, got %A." ratio)

        let dims = x.Shape.ToArray()
        let n, h, w = dims[0], dims[2], dims[3]
        let boxes = erasingBoxes key n h w p scale ratio

        if boxes |> Array.forall Option.isNone then
            x
        else
            let keep = Array.create (n * h * w) 1.0

            boxes
            |> Array.iteri (fun b box ->
                match box with
                | Some(top, left, eh, ew) ->
                    for i in top .. top + eh - 1 do
                        Array.fill keep (b * h * w + i * w + left) ew 0.0
                | None -> ())

            let mask = Tensor.cast (Tensor.ofArray (keep, [ n; 1; h; w ], x.Device), x.DType)

            if value = 0.0 then
                x * mask
            else
                x * mask + (1.0 - mask) * value

    /// A random affine map per image, nearest-neighbour, zero outside the image: a rotation by an angle
    /// uniform in [-degrees, degrees] and a scaling uniform in [scaleMin, scaleMax] about the image's centre,
    /// then a shift by whole pixels uniform in [-translate * w, translate * w] across and the same with h down.
    /// Output pixel (i, j) reads input pixel R^-1 ((i, j) - c - t) / s + c, rounded. degrees 0, translate 0 and
    /// scale 1 return the images unchanged; degrees 0 and scale 1 are an integer shift (RandomAffine's translate).
    let randomAffine
        (key: Key)
        (degrees: float)
        (translate: float)
        (scaleMin: float)
        (scaleMax: float)
        (x: Tensor)
        : Tensor =
        checkImages "randomAffine" x

        if not (degrees >= 0.0 && degrees <= 180.0) then
            invalidArg "degrees" (sprintf "Transforms.randomAffine: degrees must be in [0, 180], got %g." degrees)

        if not (translate >= 0.0 && translate < 1.0) then
            invalidArg "translate" (sprintf "Transforms.randomAffine: translate must be in [0, 1), got %g." translate)

        if not (scaleMin > 0.0 && scaleMin <= scaleMax) then
            invalidArg
                "scaleMin"
                (sprintf
                    "Transforms.randomAffine: the scale range must satisfy 0 < scaleMin <= scaleMax, got [%g, %g]."
                    scaleMin
                    scaleMax)

        let dims = x.Shape.ToArray()
        let n, c, h, w = dims[0], dims[1], dims[2], dims[3]
        // One zero pixel of padding all round: out-of-image reads point at the padded corner (0, 0).
        let pw = w + 2
        let padded = Tensor.pad (x, [ (1, 1); (1, 1) ])
        let plane = h * w
        let index = GC.AllocateUninitializedArray<int64>(n * c * plane)
        let ci, cj = float (h - 1) / 2.0, float (w - 1) / 2.0

        for b in 0 .. n - 1 do
            let u = drawsFor key b
            let angle = (2.0 * u () - 1.0) * degrees * Math.PI / 180.0
            let s = scaleMin + (scaleMax - scaleMin) * u ()

            let shift (size: int) =
                Math.Round((2.0 * u () - 1.0) * translate * float size)

            let tj = shift w
            let ti = shift h
            let cos, sin = Math.Cos angle, Math.Sin angle
            let first = b * c * plane

            for i in 0 .. h - 1 do
                for j in 0 .. w - 1 do
                    let di, dj = float i - ci - ti, float j - cj - tj
                    // The inverse rotation, then the inverse scaling.
                    let si = int (Math.Round((cos * di - sin * dj) / s + ci))
                    let sj = int (Math.Round((sin * di + cos * dj) / s + cj))

                    index[first + i * w + j] <-
                        if si >= 0 && si < h && sj >= 0 && sj < w then
                            int64 ((si + 1) * pw + sj + 1)
                        else
                            0L

            for ch in 1 .. c - 1 do
                Array.blit index first index (first + ch * plane) plane

        let flat = Tensor.reshape (padded, [ n; c; (h + 2) * pw ])
        Tensor.reshape (Tensor.gather (flat, 2, Tensor.ofArray (index, [ n; c; plane ], x.Device)), [ n; c; h; w ])

    /// A deterministic transform as a keyed one (it ignores the key), for use in compose.
    let ignoreKey (f: Tensor -> Tensor) : Key -> Tensor -> Tensor = fun _ x -> f x

    /// The transforms applied in order; transform k gets key k of Key.splitN (length) key, so no two share
    /// random words.
    let compose (transforms: (Key -> Tensor -> Tensor) list) : Key -> Tensor -> Tensor =
        let ts = Array.ofList transforms

        fun key x ->
            let keys = Key.splitN ts.Length key
            let mutable y = x

            for k in 0 .. ts.Length - 1 do
                y <- ts[k] keys[k] y

            y

    /// The standard CIFAR-10 training augmentation: random crop 32 with padding 4, random horizontal flip
    /// with p = 0.5, then CIFAR-10 normalisation.
    let cifar10Train: Key -> Tensor -> Tensor =
        compose
            [
                (fun k -> randomCrop k 4 32)
                (fun k -> randomHorizontalFlip k 0.5)
                ignoreKey normalizeCifar10
            ]

    /// A transform of the inputs as a batch transform (targets unchanged), for Dataset.map.
    let onInput (f: Tensor -> Tensor) : Batch -> Batch =
        fun batch -> { batch with Input = f batch.Input }

    /// Replaces class-index targets (Int32 or Int64 [n]) by one-hot rows [n; numClasses] of the default
    /// floating dtype, for losses that take probabilities (label smoothing, mixup).
    let oneHotTargets (numClasses: int) : Batch -> Batch =
        fun batch ->
            { batch with
                Target = Tensor.oneHot (batch.Target, numClasses)
            }

    /// The key of the batch with these example indices (Dataset.indicesKey).
    let batchKey (key: Key) (indices: int[]) : Key = Dataset.indicesKey key indices

    /// A dataset whose GetBatch applies the keyed batch transform f with the batch's key (batchKey key
    /// indices). Reproducible: the same base key and indices give the same batch.
    let mapBatchWithKey (key: Key) (f: Key -> Batch -> Batch) (ds: IDataset) : IDataset =
        { new IDataset with
            member _.Count = ds.Count

            member _.GetBatch(indices) =
                f (batchKey key indices) (ds.GetBatch indices)
        }

    /// A dataset whose batches' inputs go through the keyed transform t (e.g. cifar10Train) with a
    /// per-batch key derived from the base key and the batch's indices (see batchKey). Use it for the
    /// training set only; evaluate on Dataset.map (onInput normalizeCifar10).
    let mapWithKey (key: Key) (t: Key -> Tensor -> Tensor) (ds: IDataset) : IDataset =
        mapBatchWithKey key (fun k b -> { b with Input = t k b.Input }) ds
