/// Random crops and flips checked without the library's own offsets or flags: each output image is matched
/// against every crop (every mirror) of its input computed here with loops, so the test finds which offset
/// (whether a flip) was taken from the pixels alone; then the offsets must spread as a uniform choice would.
module FunctionalNets.Tests.Nn.CropFlipOracleTests

open Expecto
open FunctionalNets
open FunctionalNets.Nn
open FunctionalNets.Testing

let private floats (t: Tensor) = Tensor.toArray t :?> float32[]

/// Image b of a row-major [n; c; h; w] array, zero-padded by p on every side, cut at (top, left) to size x size.
let private cropByHand (x: float32[]) (c: int) (h: int) (w: int) (p: int) (size: int) b (top, left) =
    Array.init (c * size * size) (fun k ->
        let ch, i, j = k / (size * size), (k / size) % size, k % size
        let si, sj = top + i - p, left + j - p

        if si >= 0 && si < h && sj >= 0 && sj < w then
            x[((b * c + ch) * h + si) * w + sj]
        else
            0.0f)

/// Image b of a [n; c; h; w] array, mirrored left to right when `mirror`.
let private imageByHand (x: float32[]) (c: int) (h: int) (w: int) (mirror: bool) b =
    Array.init (c * h * w) (fun k ->
        let ch, i, j = k / (h * w), (k / w) % h, k % w
        x[((b * c + ch) * h + i) * w + (if mirror then w - 1 - j else j)])

let private image (y: float32[]) (size: int) b = y[b * size .. (b + 1) * size - 1]

/// The tests of this module.
let tests =
    testList
        "Crop and flip against the pixels"
        [
            testCase "every randomly cropped image is one crop of its padded input, and the offsets spread uniformly"
            <| fun () ->
                let n, c, h, w, pad, size = 400, 2, 6, 6, 2, 6
                let x = floats (Tensor.rand (Key.create 11L, [ n; c; h; w ]))

                let y =
                    floats (Transforms.randomCrop (Key.create 12L) pad size (Tensor.ofArray (x, [ n; c; h; w ])))

                let candidates =
                    [
                        for top in 0 .. 2 * pad do
                            for left in 0 .. 2 * pad -> top, left
                    ]

                let offsets =
                    Array.init n (fun b ->
                        let got = image y (c * size * size) b

                        match candidates |> List.filter (fun o -> cropByHand x c h w pad size b o = got) with
                        | [ o ] -> o
                        | [] -> failtestf "image %d is no crop of its padded input" b
                        | many -> failtestf "image %d matches %d crops: the input is not random enough" b many.Length)

                // 25 offsets chosen uniformly by 400 images: each expected 16 times (sd 3.9); a binomial(400, 1/25)
                // count falls outside [2, 34] with probability below 1e-5 per offset.
                for o in candidates do
                    let k = offsets |> Array.filter ((=) o) |> Array.length
                    Expect.isTrue (k >= 2 && k <= 34) (sprintf "offset %A taken %d times of 400, expected about 16" o k)

            testCase "every randomly flipped image is its input or its mirror, and about half are mirrored"
            <| fun () ->
                let n, c, h, w = 400, 2, 3, 5
                let x = floats (Tensor.rand (Key.create 21L, [ n; c; h; w ]))

                let y =
                    floats (Transforms.randomHorizontalFlip (Key.create 22L) 0.5 (Tensor.ofArray (x, [ n; c; h; w ])))

                let mirrored =
                    Array.init n (fun b ->
                        let got = image y (c * h * w) b

                        match got = imageByHand x c h w false b, got = imageByHand x c h w true b with
                        | true, false -> false
                        | false, true -> true
                        | true, true -> failtestf "image %d is its own mirror: the input is not random enough" b
                        | false, false -> failtestf "image %d is neither its input nor its mirror" b)

                // binomial(400, 0.5): mean 200, sd 10; [160, 240] is a 4-sigma band.
                let k = mirrored |> Array.filter id |> Array.length
                Expect.isTrue (k >= 160 && k <= 240) (sprintf "%d of 400 images mirrored at p = 0.5" k)
        ]
