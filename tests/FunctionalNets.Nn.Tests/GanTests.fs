module FunctionalNets.Tests.Nn.GanTests

open System
open Expecto
open FunctionalNets.Testing
open FunctionalNets
open FunctionalNets.Nn

let private gan = Gan.dcganMnist 8 4
let private tx () = Optim.adam (2e-3, b1 = 0.5)

// "Real" images: a vertical bar on a dark background, in [-1, 1].
let private real =
    lazy
        (let bar =
            Array.init (28 * 28) (fun p -> if abs (p % 28 - 14) < 3 then 1.0f else -1.0f)

         Tensor.ofArray (Array.concat (List.replicate 8 bar), [ 8; 1; 28; 28 ]))

let private bits (ts: TrainState) =
    PTree.values ts.Params |> List.map Tensor.toFloatArray

let ``the generator maps latents to images in [-1, 1] and the discriminator to one logit`` () =
    let s = Gan.init gan (tx ()) (tx ()) (Key.create 0L)
    let images = Gan.sample gan s.Generator 5 Device.Cpu (Key.create 1L)
    Expect.equal (images.Shape.ToArray()) [| 5; 1; 28; 28 |] "images.Shape.ToArray()"

    Tensor.toFloatArray images
    |> Seq.iter (fun v -> Checks.inRange "a value" -1.0 1.0 v)

    let logits =
        Layer.predict gan.Discriminator s.Discriminator.Params s.Discriminator.State images

    Expect.equal (logits.Shape.ToArray()) [| 5; 1 |] "logits.Shape.ToArray()"

let ``the GAN step is a pure function of the pair of states and the batch`` () =
    let s = Gan.init gan (tx ()) (tx ()) (Key.create 0L)
    let a, logsA = Gan.step gan (tx ()) (tx ()) s real.Value
    let b, logsB = Gan.step gan (tx ()) (tx ()) s real.Value
    Expect.equal logsB logsA "logsB"
    Expect.equal (bits b.Generator) (bits a.Generator) "bits b.Generator"
    Expect.equal (bits b.Discriminator) (bits a.Discriminator) "bits b.Discriminator"
    // Both players moved, and each counts its own steps.
    Expect.notEqual (bits a.Generator) (bits s.Generator) "bits a.Generator"
    Expect.equal a.Generator.Step 1L "a.Generator.Step"
    Expect.equal a.Discriminator.Step 1L "a.Discriminator.Step"
    // A different key gives a different step.
    let c, _ =
        Gan.step
            gan
            (tx ())
            (tx ())
            { s with
                Discriminator =
                    { s.Discriminator with
                        Key = Key.create 42L
                    }
            }
            real.Value

    Expect.notEqual (bits c.Generator) (bits a.Generator) "bits c.Generator"

let ``the discriminator's loss falls as it learns the real images`` () =
    let start = Gan.init gan (tx ()) (tx ()) (Key.create 0L)
    let gtx, dtx = tx (), tx ()

    let _, logs =
        Seq.fold
            (fun (s, acc) _ ->
                let s, l = Gan.step gan gtx dtx s real.Value
                s, l :: acc)
            (start, [])
            (seq { 1..12 })

    let logs = List.rev logs
    // A discriminator that cannot tell the halves apart scores 2 ln 2 = 1.386.
    Checks.inRange "logs.Head[\"d_loss\"]" 1.0 1.8 (logs.Head["d_loss"])

    Expect.isTrue
        (logs[11]["d_loss"] < logs.Head["d_loss"] - 0.2)
        (sprintf "d_loss %A" (logs |> List.map (fun l -> l["d_loss"])))

    Expect.isTrue (logs[11]["d_real"] > logs[11]["d_fake"]) "logs[11][\"d_real\"] > logs[11][\"d_fake\"]"

let ``a real batch of the wrong shape is refused with the expected shape`` () =
    let s = Gan.init gan (tx ()) (tx ()) (Key.create 0L)

    let e =
        Expects.throws<ArgumentException> "Gan.step gan (tx ()) (tx ()) s (Tensor.zeros [ 4; 28; 28 ])" (fun () ->
            Gan.step gan (tx ()) (tx ()) s (Tensor.zeros [ 4; 28; 28 ]) |> ignore)

    Expect.stringContains e.Message "Gan.step" "e.Message"

/// The tests of this module.
let tests =
    testList
        "Gan"
        [
            testCase
                "the generator maps latents to images in [-1, 1] and the discriminator to one logit"
                ``the generator maps latents to images in [-1, 1] and the discriminator to one logit``
            testCase
                "the GAN step is a pure function of the pair of states and the batch"
                ``the GAN step is a pure function of the pair of states and the batch``
            testCase
                "the discriminator's loss falls as it learns the real images"
                ``the discriminator's loss falls as it learns the real images``
            testCase
                "a real batch of the wrong shape is refused with the expected shape"
                ``a real batch of the wrong shape is refused with the expected shape``
        ]
