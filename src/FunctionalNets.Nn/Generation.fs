namespace FunctionalNets.Nn

open System
open FunctionalNets

/// How Generation.generate picks each next token.
type SamplingOptions =
    {
        /// Divides the logits before the softmax: below 1 sharpens, above 1 flattens; 0 is greedy (argmax).
        Temperature: float
        /// Sample only among the k most likely tokens (None: all of them).
        TopK: int option
        /// The most tokens the model sees: longer contexts keep their last ContextLength tokens.
        ContextLength: int
    }

/// Sampling text from a language model given as a function from ids [1; T] (Int64) to logits [1; T; V].
[<RequireQualifiedAccess>]
module Generation =
    /// Temperature 1, no top-k, the given context length.
    let options (contextLength: int) : SamplingOptions =
        {
            Temperature = 1.0
            TopK = None
            ContextLength = contextLength
        }

    let private check (o: SamplingOptions) =
        if not (o.Temperature >= 0.0) || Double.IsInfinity o.Temperature then
            invalidArg "options" (sprintf "Generation: temperature must be finite and >= 0, got %g." o.Temperature)

        match o.TopK with
        | Some k when k < 1 -> invalidArg "options" (sprintf "Generation: topK must be >= 1, got %d." k)
        | _ -> ()

        if o.ContextLength < 1 then
            invalidArg "options" (sprintf "Generation: contextLength must be >= 1, got %d." o.ContextLength)

    // The lowest index of the largest value: ties go to the smaller id, so greedy decoding is deterministic.
    let private argmax (xs: float[]) =
        let mutable best = 0

        for i in 1 .. xs.Length - 1 do
            if xs[i] > xs[best] then
                best <- i

        best

    /// The probabilities sampleFrom draws from: softmax(logits / temperature) restricted to the topK
    /// largest logits (ties broken toward the smaller id) and renormalized; temperature 0 puts all the mass
    /// on the argmax.
    let probabilities (options: SamplingOptions) (logits: float[]) : float[] =
        check options

        if logits.Length = 0 then
            invalidArg "logits" "Generation.probabilities: the logits are empty."

        if logits |> Array.exists Double.IsNaN then
            invalidArg "logits" "Generation.probabilities: the logits contain NaN."

        let v = logits.Length

        if options.Temperature = 0.0 then
            Array.init v (fun i -> if i = argmax logits then 1.0 else 0.0)
        else
            let keep =
                match options.TopK with
                | Some k when k < v ->
                    let order =
                        Array.init v id
                        |> Array.sortWith (fun a b -> compare (logits[b], a) (logits[a], b))

                    let kept = Array.zeroCreate v
                    order[.. k - 1] |> Array.iter (fun i -> kept[i] <- true)
                    kept
                | _ -> Array.create v true

            let scaled = logits |> Array.map (fun l -> l / options.Temperature)

            let top = Seq.zip scaled keep |> Seq.filter snd |> Seq.map fst |> Seq.max

            let weights = Array.init v (fun i -> if keep[i] then exp (scaled[i] - top) else 0.0)

            let total = Array.sum weights
            weights |> Array.map (fun w -> w / total)

    /// One id drawn from probabilities (Generation.probabilities) by inverting the cumulative sum at a
    /// uniform number from the key: the same key gives the same id.
    let sampleFrom (options: SamplingOptions) (key: Key) (logits: float[]) : int =
        let p = probabilities options logits

        if options.Temperature = 0.0 then
            argmax p
        else
            let u = Tensor.toScalar (Tensor.rand (key, [ 1 ], DType.Float64))
            let mutable acc = 0.0
            let mutable chosen = -1

            for i in 0 .. p.Length - 1 do
                if chosen < 0 && p[i] > 0.0 then
                    acc <- acc + p[i]

                    if u < acc then
                        chosen <- i

            // Rounding can leave the cumulative sum a hair below 1: fall back to the last token with mass.
            if chosen >= 0 then
                chosen
            else
                Array.findIndexBack (fun x -> x > 0.0) p

    /// Continues prompt by count tokens: at each step the model sees the last ContextLength ids as
    /// [1; T] (Int64), its logits at the last position pick the next id (sampleFrom with the key folded
    /// with the step). Returns only the new ids. The prompt must be non-empty.
    let generate (model: Tensor -> Tensor) (options: SamplingOptions) (key: Key) (prompt: int[]) (count: int) : int[] =
        check options

        if prompt.Length = 0 then
            invalidArg "prompt" "Generation.generate: the prompt is empty; give at least one token to start from."

        if count < 0 then
            invalidArg "count" (sprintf "Generation.generate: count must be >= 0, got %d." count)

        let context = ResizeArray<int>(prompt)
        let produced = Array.zeroCreate count

        for step in 0 .. count - 1 do
            let t = min context.Count options.ContextLength
            let window = Array.init t (fun i -> int64 context[context.Count - t + i])
            let logits = model (Tensor.ofArray (window, [ 1; t ]))

            if logits.Rank <> 3 || logits.Shape[0] <> 1 || logits.Shape[1] <> t then
                invalidArg
                    "model"
                    (sprintf
                        "Generation.generate: the model gave logits %O for ids [1; %d]; expected [1; %d; vocabulary]."
                        logits.Shape
                        t
                        t)

            let last =
                Tensor.toFloatArray (Tensor.select (Tensor.select (logits, 0, 0), 0, t - 1))

            let next = sampleFrom options (Key.foldIn step key) last
            produced[step] <- next
            context.Add next

        produced
