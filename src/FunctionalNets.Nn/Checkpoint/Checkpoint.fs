namespace FunctionalNets.Nn

open FunctionalNets
open System
open System.Collections.Generic
open System.Globalization
open System.IO
open System.Text.Json

/// Training checkpoints as safetensors files: every tensor of a TrainState, named "params.&lt;path&gt;",
/// "state.&lt;path&gt;" and "opt.&lt;path&gt;" (a bare Leaf root is named "params", "state" or "opt"), and in the
/// metadata the step, the key, the learning-rate scale, the trees' structure and the user's entries.
/// Written atomically (see SafeTensors.write); floats round-trip bit for bit, so training resumes exactly.
[<RequireQualifiedAccess>]
module Checkpoint =
    /// Metadata keys the checkpoint itself uses; user metadata must avoid them.
    let reservedKeys = set [ "format"; "step"; "key"; "lr_scale"; "structure" ]

    /// The value of the "format" metadata entry.
    [<Literal>]
    let FormatTag = "functionalnets.checkpoint/1"

    let private sections = [ "params"; "state"; "opt" ]

    let private sectionsOf (ts: TrainState) =
        [ "params", ts.Params; "state", ts.State; "opt", ts.Opt ]

    let private fullName (section: string) (path: string) =
        if path = "" then section else section + "." + path

    let private bad (path: string) (problem: string) =
        raise (InvalidDataException(sprintf "checkpoint %s: %s." path problem))

    // The skeleton keeps what leaf paths lose: empty nodes (a ReLU's empty params), names with dots and
    // the order of children. Leaf -> null, Node -> [[name, child], ...].
    let rec private writeSkeleton (w: Utf8JsonWriter) (t: PTree<Tensor>) =
        match t with
        | Leaf _ -> w.WriteNullValue()
        | Node kids ->
            w.WriteStartArray()

            for name, child in kids do
                w.WriteStartArray()
                w.WriteStringValue name
                writeSkeleton w child
                w.WriteEndArray()

            w.WriteEndArray()

    let private structureJson (ts: TrainState) =
        use ms = new MemoryStream()

        do
            use w = new Utf8JsonWriter(ms)
            w.WriteStartObject()

            for name, tree in sectionsOf ts do
                w.WritePropertyName name
                writeSkeleton w tree

            w.WriteEndObject()

        Text.Encoding.UTF8.GetString(ms.ToArray())

    let rec private readSkeleton
        (file: string)
        (lookup: string -> Tensor)
        (prefix: string)
        (e: JsonElement)
        : PTree<Tensor> =
        match e.ValueKind with
        | JsonValueKind.Null -> Leaf(lookup prefix)
        | JsonValueKind.Array ->
            Node
                [
                    for kid in e.EnumerateArray() do
                        if
                            kid.ValueKind <> JsonValueKind.Array
                            || kid.GetArrayLength() <> 2
                            || kid[0].ValueKind <> JsonValueKind.String
                        then
                            bad file "the 'structure' metadata is malformed"

                        let name =
                            try
                                string (kid[0].GetString())
                            with :? InvalidOperationException ->
                                bad file "the 'structure' metadata holds a name that is not valid Unicode"

                        name, readSkeleton file lookup (prefix + "." + name) kid[1]
                ]
        | _ -> bad file "the 'structure' metadata is malformed"

    /// Trees from dotted names alone (files written by other tools): children in order of first appearance.
    let private treeFromNames (file: string) (section: string) (tensors: (string * Tensor) list) : PTree<Tensor> =
        let mine =
            tensors
            |> List.choose (fun (n, t) ->
                if n = section then
                    Some([], t)
                elif n.StartsWith(section + ".", StringComparison.Ordinal) then
                    Some(List.ofArray (n.Substring(section.Length + 1).Split '.'), t)
                else
                    None)

        let rec build (prefix: string) (items: (string list * Tensor) list) : PTree<Tensor> =
            match items with
            | [ [], t ] -> Leaf t
            | _ ->
                let order = List<string>()
                let groups = Dictionary<string, List<string list * Tensor>>()

                for parts, t in items do
                    match parts with
                    | [] ->
                        bad
                            file
                            (sprintf
                                "the entry '%s' is a tensor, and also the prefix of other tensors such as '%s.%s'; a name is either a tensor or a group"
                                prefix
                                prefix
                                (items |> List.pick (fun (ps, _) -> List.tryHead ps)))
                    | p :: rest ->
                        if not (groups.ContainsKey p) then
                            order.Add p
                            groups[p] <- List()

                        groups[p].Add(rest, t)

                Node [ for p in order -> p, build (prefix + "." + p) (List.ofSeq groups[p]) ]

        build section mine

    /// Writes ts and the user's metadata to path atomically. Raises ArgumentException when the user's
    /// metadata uses a reserved key (format, step, key, lr_scale, structure).
    let save (path: string) (ts: TrainState) (metadata: Map<string, string>) : unit =
        for KeyValue(k, _) in metadata do
            if reservedKeys.Contains k then
                invalidArg
                    "metadata"
                    (sprintf
                        "Checkpoint.save %s: the metadata key '%s' is reserved by the checkpoint; rename it."
                        path
                        k)

        let tensors =
            sectionsOf ts
            |> List.collect (fun (section, tree) -> PTree.leaves tree |> List.map (fun (p, t) -> fullName section p, t))

        let meta =
            metadata
            |> Map.add "format" FormatTag
            |> Map.add "step" (ts.Step.ToString(CultureInfo.InvariantCulture))
            |> Map.add "key" (sprintf "%d,%d" ts.Key.K0 ts.Key.K1)
            // "R" round-trips the double exactly.
            |> Map.add "lr_scale" (ts.LrScale.ToString("R", CultureInfo.InvariantCulture))
            |> Map.add "structure" (structureJson ts)

        SafeTensors.write path tensors meta

    let private parseScalars (path: string) (meta: Map<string, string>) =
        let get k =
            match meta.TryFind k with
            | Some v -> v
            | None ->
                bad
                    path
                    (sprintf
                        "no '%s' entry in the metadata, so it is not a FunctionalNets checkpoint; read plain weights with SafeTensors.read"
                        k)

        match meta.TryFind "format" with
        | Some f when f <> FormatTag ->
            bad
                path
                (sprintf
                    "the metadata entry 'format' is '%s', not '%s', so it is not a checkpoint this version reads"
                    f
                    FormatTag)
        | _ -> ()

        let step =
            match Int64.TryParse(get "step", NumberStyles.Integer, CultureInfo.InvariantCulture) with
            | true, s when s >= 0L -> s
            | true, s -> bad path (sprintf "the metadata entry 'step' is %d, but a step count cannot be negative" s)
            | _ -> bad path (sprintf "the step '%s' is not an integer" (get "step"))

        let key =
            match (get "key").Split ',' with
            | [| a; b |] ->
                match
                    UInt32.TryParse(a, NumberStyles.Integer, CultureInfo.InvariantCulture),
                    UInt32.TryParse(b, NumberStyles.Integer, CultureInfo.InvariantCulture)
                with
                | (true, k0), (true, k1) -> { K0 = k0; K1 = k1 }
                | _ -> bad path (sprintf "the key '%s' is not two unsigned integers" (get "key"))
            | _ -> bad path (sprintf "the key '%s' is not two unsigned integers" (get "key"))

        let lr =
            match Double.TryParse(get "lr_scale", NumberStyles.Float, CultureInfo.InvariantCulture) with
            | true, v when Double.IsFinite v && v >= 0.0 -> v
            | true, _ ->
                bad
                    path
                    (sprintf
                        "the metadata entry 'lr_scale' is '%s', but a learning-rate scale must be a finite number >= 0"
                        (get "lr_scale"))
            | _ -> bad path (sprintf "lr_scale '%s' is not a number" (get "lr_scale"))

        let user = meta |> Map.filter (fun k _ -> not (reservedKeys.Contains k))
        step, key, lr, user

    /// Reads a checkpoint: the TrainState (trees rebuilt from the stored structure, or from the dotted
    /// names when the file has none) and the user's metadata (reserved keys removed).
    let load (path: string) : TrainState * Map<string, string> =
        let tensors, meta = SafeTensors.read path
        let step, key, lr, user = parseScalars path meta

        let trees =
            match meta.TryFind "structure" with
            | Some s ->
                let byName = Dictionary<string, Tensor>()

                for n, t in tensors do
                    byName[n] <- t

                let used = HashSet<string>()

                let lookup (name: string) =
                    match byName.TryGetValue name with
                    | true, t ->
                        used.Add name |> ignore
                        t
                    | _ -> bad path (sprintf "the structure names tensor '%s' but the file does not hold it" name)

                let doc =
                    try
                        JsonDocument.Parse s
                    with :? JsonException as e ->
                        bad path (sprintf "the 'structure' metadata is not valid JSON (%s)" e.Message)

                use doc = doc

                if doc.RootElement.ValueKind <> JsonValueKind.Object then
                    bad
                        path
                        (sprintf "the 'structure' metadata must be a JSON object, got %O" doc.RootElement.ValueKind)

                let trees =
                    sections
                    |> List.map (fun sec ->
                        match doc.RootElement.TryGetProperty sec with
                        | true, e -> readSkeleton path lookup sec e
                        | _ -> bad path (sprintf "the 'structure' metadata has no '%s'" sec))

                match tensors |> List.tryFind (fun (n, _) -> not (used.Contains n)) with
                | Some(n, _) -> bad path (sprintf "the file holds tensor '%s' which the structure does not name" n)
                | None -> ()

                trees
            | None -> sections |> List.map (fun sec -> treeFromNames path sec tensors)

        match trees with
        | [ p; s; o ] ->
            {
                Params = p
                State = s
                Opt = o
                Step = step
                Key = key
                LrScale = lr
            },
            user
        | _ -> invalidOp "unreachable"

    /// Reads a checkpoint into the shape of a template (a freshly initialised model and optimizer):
    /// every leaf of the template must be in the file with the same shape and dtype, and the file must
    /// hold nothing else. The trees keep the template's structure. Raises InvalidDataException naming the
    /// first mismatching path, e.g. "checkpoint mismatch at params.0.weight: file has [512; 784], model
    /// has [256; 784]".
    let loadInto (path: string) (template: TrainState) : TrainState * Map<string, string> =
        let tensors, meta = SafeTensors.read path
        let step, key, lr, user = parseScalars path meta
        let byName = Dictionary<string, Tensor>()

        for n, t in tensors do
            byName[n] <- t

        let mismatch (name: string) (what: string) =
            raise (
                InvalidDataException(
                    sprintf
                        "checkpoint mismatch at %s: %s (file %s). Build the model and optimizer the checkpoint was saved from, or start from scratch."
                        name
                        what
                        path
                )
            )

        let expected = HashSet<string>()

        let take section tree =
            tree
            |> PTree.mapWithPath (fun p (m: Tensor) ->
                let name = fullName section p
                expected.Add name |> ignore

                match byName.TryGetValue name with
                | true, f ->
                    if not (f.Shape.Equals m.Shape) then
                        mismatch name (sprintf "file has %O, model has %O" f.Shape m.Shape)

                    if f.DType <> m.DType then
                        mismatch name (sprintf "file has dtype %O, model has %O" f.DType m.DType)

                    f
                | _ -> mismatch name (sprintf "the model has it (%O) but the file does not" m.Shape))

        let p = take "params" template.Params
        let s = take "state" template.State
        let o = take "opt" template.Opt

        match tensors |> List.tryFind (fun (n, _) -> not (expected.Contains n)) with
        | Some(n, t) -> mismatch n (sprintf "the file has it (%O) but the model does not" t.Shape)
        | None -> ()

        {
            Params = p
            State = s
            Opt = o
            Step = step
            Key = key
            LrScale = lr
        },
        user

    /// A model's PyTorch state_dict: its parameters' leaves then its state's leaves (BatchNorm's
    /// running_mean, running_var and num_batches_tracked), under their paths ("0.weight", "1.running_var").
    let stateDict (parameters: Params) (state: State) : (string * Tensor) list =
        PTree.leaves parameters @ PTree.leaves state

    /// Writes a plain safetensors state_dict (PyTorch's names, no optimizer, no "params." prefix) that
    /// `model.load_state_dict(safetensors.torch.load_file(path), strict=True)` accepts for the equivalent
    /// torch modules. The metadata holds "format" = "pt" (as safetensors.torch writes it) and the extra
    /// entries given. Written atomically, like save.
    let saveWeights (path: string) (parameters: Params) (state: State) (metadata: Map<string, string>) : unit =
        SafeTensors.write path (stateDict parameters state) (Map.add "format" "pt" metadata)

    // The state_dict a file holds: a plain one as it is, a full checkpoint's params and state without
    // their section prefix (its optimizer state is not weights).
    let private weightsIn (path: string) (tensors: (string * Tensor) list) (meta: Map<string, string>) =
        if meta.TryFind "format" = Some FormatTag then
            tensors
            |> List.choose (fun (n, t) ->
                [ "params."; "state." ]
                |> List.tryFind (fun p -> n.StartsWith(p, StringComparison.Ordinal))
                |> Option.map (fun p -> n.Substring p.Length, t))
        else
            tensors

    /// Reads a state_dict into the shape of a model's parameters and state (a template from the model's
    /// Init) as torch's `load_state_dict(strict=True)` does: every key of the model must be in the file and
    /// the file must hold no other, each with the model's shape; values are converted to the model's dtype
    /// within the same kind (float64 into float32, int32 into int64) and moved to its device. Reads plain
    /// safetensors files (written by saveWeights or by safetensors.torch.save_file) and full checkpoints
    /// (their parameters and state; the optimizer state is ignored). Raises InvalidDataException listing the
    /// missing and unexpected keys, or naming the first key whose shape or kind differs.
    let loadWeights (path: string) (parameters: Params) (state: State) : Params * State =
        let tensors, meta = SafeTensors.read path
        let byName = Dictionary<string, Tensor>()

        for n, t in weightsIn path tensors meta do
            byName[n] <- t

        let keys = stateDict parameters state |> List.map fst
        let missing = keys |> List.filter (byName.ContainsKey >> not)
        let known = HashSet<string>(keys)

        let unexpected =
            byName.Keys |> Seq.filter (known.Contains >> not) |> Seq.sort |> List.ofSeq

        if not missing.IsEmpty || not unexpected.IsEmpty then
            let list (what: string) (names: string list) =
                if names.IsEmpty then
                    []
                else
                    [
                        sprintf "%s key(s): %s" what (names |> List.truncate 20 |> String.concat ", ")
                    ]

            raise (
                InvalidDataException(
                    sprintf
                        "loadWeights %s: the file's state_dict does not match the model. %s. The file must hold exactly the model's parameters and buffers under PyTorch's names (the model has %s); build the same layers as the net that wrote it."
                        path
                        (list "Missing" missing @ list "Unexpected" unexpected |> String.concat "; ")
                        (keys |> List.truncate 8 |> String.concat ", ")
                )
            )

        let take (name: string) (m: Tensor) =
            let f = byName[name]

            let problem =
                if not (f.Shape.Equals m.Shape) then
                    Some(sprintf "the file has shape %O, the model %O" f.Shape m.Shape)
                elif f.DType.IsFloatingPoint <> m.DType.IsFloatingPoint then
                    Some(sprintf "the file has dtype %O, the model %O" f.DType m.DType)
                else
                    None

            match problem with
            | Some p ->
                raise (
                    InvalidDataException(
                        sprintf
                            "loadWeights %s: size mismatch for %s: %s. Build the same layers as the net that wrote the file."
                            path
                            name
                            p
                    )
                )
            | None ->
                let f = if f.DType = m.DType then f else Tensor.cast (f, m.DType)

                if f.Device = m.Device then
                    f
                else
                    Tensor.toDevice (m.Device, f)

        PTree.mapWithPath take parameters, PTree.mapWithPath take state

    /// Reads a full checkpoint into a template (see loadInto) whatever optimizer the template was built
    /// with: the parameters and the state must match the template; the optimizer state is taken from the
    /// file when it matches the template's tree leaf for leaf (same optimizer), otherwise the template's
    /// fresh optimizer state is kept. The step, key and learning-rate scale come from the file. The
    /// boolean says whether the optimizer state was restored.
    let loadModel (path: string) (template: TrainState) : TrainState * Map<string, string> * bool =
        let sameOptimizer =
            try
                Some(loadInto path template)
            with :? InvalidDataException ->
                None

        match sameOptimizer with
        | Some(ts, user) -> ts, user, true
        | None ->
            // Checked against the file's own optimizer tree, so a mismatch in the weights is reported
            // under the checkpoint's names; only then is the other optimizer's state the reason.
            let raw, _ = load path
            let ts, user = loadInto path { template with Opt = raw.Opt }
            { ts with Opt = template.Opt }, user, false
