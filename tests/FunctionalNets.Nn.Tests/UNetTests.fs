module FunctionalNets.Tests.Nn.UNetTests

open System
open Expecto
open FunctionalNets.Testing
open FunctionalNets
open FunctionalNets.Nn

let private cfg =
    { UNet.config 8 with
        Groups = 4
        Heads = 2
    }

let private x = lazy (Tensor.tanh (Tensor.randn (Key.create 4L, [ 4; 1; 28; 28 ])))

let ``the U-Net predicts noise of the input's shape and depends on the timestep`` () =
    let ps = UNet.init cfg (Key.create 0L)
    let f = UNet.apply cfg ps
    let y0 = f x.Value (Tensor.zeros [ 4 ])
    let y1 = f x.Value (Tensor.full ([ 4 ], 500.0))
    Expect.equal (y0.Shape.ToArray()) [| 4; 1; 28; 28 |] "y0.Shape.ToArray()"
    Expect.notEqual (Tensor.toFloatArray y1) (Tensor.toFloatArray y0) "Tensor.toFloatArray y1"
    // Attention sits at the lowest resolution; the residual blocks carry the time projection.
    Expect.isTrue
        ((PTree.tryFind "mid_attention.attention.in_proj_weight" ps).IsSome)
        "(PTree.tryFind \"mid_attention.attention.in_proj_weight\" ps).IsSome"

    Expect.isTrue ((PTree.tryFind "down1.time.weight" ps).IsSome) "(PTree.tryFind \"down1.time.weight\" ps).IsSome"

let ``the residual block adds its time projection per channel`` () =
    let block = TimeBlocks.residual 4 4 6 2
    let ps = block.Init(Key.create 1L)
    let h = Tensor.randn (Key.create 2L, [ 2; 4; 5; 5 ])
    let t1 = Tensor.randn (Key.create 3L, [ 2; 6 ])
    let t2 = Tensor.randn (Key.create 4L, [ 2; 6 ])
    // The time embedding enters before norm2, so outputs differ, but the shape is kept.
    let a = block.Apply ps h t1
    Expect.equal (a.Shape.ToArray()) [| 2; 4; 5; 5 |] "a.Shape.ToArray()"

    Expect.notEqual
        (Tensor.toFloatArray (block.Apply ps h t2))
        (Tensor.toFloatArray a)
        "Tensor.toFloatArray (block.Apply ps h t2)"

let ``the diffusion loss falls over a few steps`` () =
    let schedule = Ddpm.linear 100 1e-3 0.05
    let tx = Optim.adam 2e-3
    let f = UNet.apply cfg

    let start =
        Objective.init (UNet.init cfg (Key.create 0L)) PTree.empty tx (Key.create 1L)
    // The loss is measured on fixed keys (steps and noise) before and after, so the draws do not decide.
    let measure (ps: Params) =
        [ 0..3 ]
        |> List.averageBy (fun k ->
            Tensor.toScalar (Ddpm.noiseLoss schedule (f ps) (Key.create (100L + int64 k)) x.Value))

    let step (ts: TrainState) =
        fst (
            Objective.step
                "ddpm"
                tx
                (fun ps ->
                    {
                        Loss = Ddpm.noiseLoss schedule (f ps) (Objective.stepKey ts) x.Value
                        State = PTree.empty
                        Logs = []
                    })
                ts
        )

    let before = measure start.Params
    let trained = Seq.fold (fun ts _ -> step ts) start (seq { 1..12 })
    let after = measure trained.Params
    Expect.isTrue (after < 0.8 * before) (sprintf "noise loss %g -> %g" before after)

let ``sampling runs the reverse process to images of the requested shape`` () =
    let schedule = Ddpm.respace 5 (Ddpm.linear 100 1e-3 0.05)
    let ps = UNet.init cfg (Key.create 0L)

    let images =
        Ddpm.sample schedule (UNet.apply cfg ps) 1.0 [ 3; 1; 28; 28 ] Device.Cpu (Key.create 6L)

    Expect.equal (images.Shape.ToArray()) [| 3; 1; 28; 28 |] "images.Shape.ToArray()"
    // The last step's mean is built from a clean image clipped to [-1, 1]; with c0 + ct close to 1 the result
    // stays near that range.
    Tensor.toFloatArray images
    |> Seq.iter (fun v -> Checks.inRange "a value" -3.0 3.0 v)

let ``inputs the U-Net cannot halve twice are refused`` () =
    let ps = UNet.init cfg (Key.create 0L)

    let e =
        Expects.throws<ArgumentException>
            "UNet.apply cfg ps (Tensor.zeros [ 1; 1; 27; 27 ]) (Tensor.zeros [ 1 ])"
            (fun () -> UNet.apply cfg ps (Tensor.zeros [ 1; 1; 27; 27 ]) (Tensor.zeros [ 1 ]) |> ignore)

    Expect.stringContains e.Message "divisible by 4" "e.Message"

    Expects.throws<ArgumentException> "UNet.init { cfg with Groups = 3 } (Key.create 0L)" (fun () ->
        UNet.init { cfg with Groups = 3 } (Key.create 0L) |> ignore)
    |> ignore

/// The tests of this module.
let tests =
    testList
        "UNet"
        [
            testCase
                "the U-Net predicts noise of the input's shape and depends on the timestep"
                ``the U-Net predicts noise of the input's shape and depends on the timestep``
            testCase
                "the residual block adds its time projection per channel"
                ``the residual block adds its time projection per channel``
            testCase "the diffusion loss falls over a few steps" ``the diffusion loss falls over a few steps``
            testCase
                "sampling runs the reverse process to images of the requested shape"
                ``sampling runs the reverse process to images of the requested shape``
            testCase
                "inputs the U-Net cannot halve twice are refused"
                ``inputs the U-Net cannot halve twice are refused``
        ]
