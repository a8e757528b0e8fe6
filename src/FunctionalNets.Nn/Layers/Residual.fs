namespace FunctionalNets.Nn

open System.Runtime.InteropServices
open FunctionalNets

/// Residual connections: y = activation (body x + shortcut x), and ResNet's basic block built from them.
[<AutoOpen>]
module ResidualLayers =
    let private childCtx (i: int) (ctx: Ctx) =
        { ctx with
            Key = ctx.Key |> Option.map (Key.foldIn i)
        }

    type Layers with
        /// A residual connection: activation (body x + shortcut x), where shortcut defaults to the identity
        /// and activation to none. Parameters and state live under "body", "shortcut" and "activation"
        /// (children without any are left out). Init checks that body and shortcut give the same shape.
        [<CompiledName("Residual")>]
        static member residual(body: Layer, [<Optional>] shortcut: Layer, [<Optional>] activation: Layer) : Layer =
            Check.notNull "Residual" "body" body
            let shortcut = Check.given shortcut
            let activation = Check.given activation

            let name =
                sprintf
                    "Residual(%s%s%s)"
                    body.Name
                    (shortcut
                     |> Option.map (fun l -> ", shortcut=" + l.Name)
                     |> Option.defaultValue "")
                    (activation |> Option.map (fun l -> ", then " + l.Name) |> Option.defaultValue "")

            let init (key: Key) (shape: Shape) =
                let keys = Key.splitN 3 key
                let outBody, pb, sb = body.Init keys[0] shape

                let outShort, psc, ssc =
                    match shortcut with
                    | Some l -> l.Init keys[1] shape
                    | None -> shape, PTree.empty, PTree.empty

                if outBody <> outShort then
                    invalidArg
                        "shape"
                        (sprintf
                            "%s: the body maps %O to %O but the shortcut gives %O; they must match (add a shortcut layer that changes the shape, e.g. a 1x1 convolution with the body's stride)."
                            name
                            shape
                            outBody
                            outShort)

                let outAct, pa, sa =
                    match activation with
                    | Some l -> l.Init keys[2] outBody
                    | None -> outBody, PTree.empty, PTree.empty

                outAct,
                Layer.nonEmpty [ "body", pb; "shortcut", psc; "activation", pa ],
                Layer.nonEmpty [ "body", sb; "shortcut", ssc; "activation", sa ]

            let apply (ps: Params) (ss: State) (ctx: Ctx) (x: Tensor) =
                let run (i: int) (childName: string) (layer: Layer) (input: Tensor) =
                    layer.Apply (Layer.child childName ps) (Layer.child childName ss) (childCtx i ctx) input

                let yb, sb = run 0 "body" body x

                let ysc, ssc =
                    match shortcut with
                    | Some l -> run 1 "shortcut" l x
                    | None -> x, PTree.empty

                if yb.Shape <> ysc.Shape then
                    invalidArg
                        "input"
                        (sprintf
                            "%s: body output %O and shortcut output %O differ for input %O."
                            name
                            yb.Shape
                            ysc.Shape
                            x.Shape)

                let y, sa =
                    match activation with
                    | Some l -> run 2 "activation" l (yb + ysc)
                    | None -> yb + ysc, PTree.empty

                y, Layer.nonEmpty [ "body", sb; "shortcut", ssc; "activation", sa ]

            Layer.create name init apply

        /// ResNet's basic block (He et al. 2016): relu (bn (conv3x3 (relu (bn (conv3x3 x)))) + shortcut x),
        /// with stride on the first convolution and, when the stride or channel count changes, a 1x1
        /// convolution + BatchNorm shortcut. Body parameters are named as torchvision's BasicBlock ("conv1",
        /// "bn1", "conv2", "bn2"; the shortcut's "0" and "1" stand for its "downsample").
        [<CompiledName("BasicBlock")>]
        static member basicBlock
            (inChannels: int, outChannels: int, [<Optional; DefaultParameterValue(1)>] stride: int)
            : Layer =
            Check.atLeast "BasicBlock" "inChannels" 1 inChannels
            Check.atLeast "BasicBlock" "outChannels" 1 outChannels
            Check.atLeast "BasicBlock" "stride" 1 stride

            let body =
                Layer.sequentialNamed
                    [
                        "conv1", Layers.conv2d (inChannels, outChannels, 3, stride = stride, padding = 1, bias = false)
                        "bn1", Layers.batchNorm2d outChannels
                        "relu", Layers.relu ()
                        "conv2", Layers.conv2d (outChannels, outChannels, 3, padding = 1, bias = false)
                        "bn2", Layers.batchNorm2d outChannels
                    ]

            if stride <> 1 || inChannels <> outChannels then
                let shortcut =
                    Layer.sequential
                        [
                            Layers.conv2d (inChannels, outChannels, 1, stride = stride, bias = false)
                            Layers.batchNorm2d outChannels
                        ]

                Layers.residual (body, shortcut = shortcut, activation = Layers.relu ())
            else
                Layers.residual (body, activation = Layers.relu ())
